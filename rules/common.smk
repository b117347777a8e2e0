# Helpers shared by the rule files, and no rules. The run list, the paths of the
# contracts (modality_rl.paths), the target lists of each stage, and the job spec each
# rule hands its script.
#
# Every job runs `python {params.script} {params.spec:q}`. The spec is a JSON object that
# the script loads into its job dataclass (scripts/<job>.py). Spec builders return plain
# data, with config sections made canonical (`section`, `canonical`) so that reordering
# keys in a YAML file changes no params and reruns nothing; `job_spec` makes them params.
# Builders take the wildcards alone and build every path with the helpers the rule's
# input and output use: Snakemake compares only params of the wildcards (one that takes
# `input` or `output` counts as derived from files, and changing it reruns nothing).

import json
import os
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.resources import Resource

# Scripts import the library of this checkout, whether or not it was pip-installed.
SRC_DIR = Path(workflow.basedir) / "src"
shell.prefix(f"set -euo pipefail; export PYTHONPATH={SRC_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

# Planning is library logic (these modules import no torch, so planning stays fast).
sys.path.insert(0, str(SRC_DIR))
from modality_rl import budgets, paths
from modality_rl.analyses import (
    ANALYSES,
    DATA_TABLES,
    LEARNING_CURVES,
    all_tables,
    analysed_runs,
    analysis_epochs,
    analysis_settings,
    checkpoint_epochs,
    partitions,
    probe_dir,
    probe_dump_path,
    probe_sections,
    probed_epochs,
    table_partition,
)
from modality_rl.claims.verdicts import claim_tables, load_claims
from modality_rl.configuration import check_config
from modality_rl.data.sources import D4RLSources
from modality_rl.figures.catalogue import data_figures
from modality_rl.figures.draw import figure_inputs, panel_problem
from modality_rl.runs import (
    Run,
    enumerate_runs,
    experiment_epochs,
    PRETRAINING_MODALITY,
    pretrained_weights,
    run_settings,
)
from modality_rl.tables.paper import PAPER_TABLES

# The schema, then the cross-references it cannot express (modality_rl.configuration).
check_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")


def machine_memory_mb():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


# A local run never starts jobs that together need more memory than the machine has:
# each rule declares its mem_mb, and the total defaults to the machine's memory
# (`--resources mem_mb=N` sets another). Here rather than in profiles/default: a
# `--resources` on the command line replaces a profile's, so `--resources gpu=2` would
# drop the bound. Cluster jobs are bounded by their own --mem instead.
if workflow.local_exec and "mem_mb" not in workflow.global_resources:
    workflow.global_resources["mem_mb"] = Resource("mem_mb", machine_memory_mb())

CONDA_ENV = "../envs/modality_rl.yaml"
RUNS = enumerate_runs(config)
SOURCE = config["data"]["source"]
# Read by the figure and paper-table jobs, and declared as their inputs.
CATALOGUE = "resources/figures.tsv"
PUBLISHED = "resources/paper_tables.tsv"
CLAIMS_FILE = "resources/claims.yaml"
# The paper's configuration, which the claims report compares this one to.
PAPER_CONFIG = "config.yaml"
# Table 3 is the configuration itself, so its job reads no table.
CONFIGURATION_TABLE = paths.fill(paths.PAPER_TABLE, number=3, ext="md")
MUTUAL_INFORMATION_DATA_PARTITION = paths.partial(
    paths.DATA_TABLE_PARTITION, table="mutual_information_data"
)
FIGURES = data_figures(CATALOGUE)


wildcard_constraints:
    env="|".join(config["envs"]),
    dataset="medium|random|expert",
    modality="language|image",
    weights="gpt2|igpt",
    experiment="|".join(config["experiments"]),
    model=r"random|gpt2|igpt|igpt_native|gpt2_block\d+",
    seed=r"\d+",
    epoch=r"\d+",
    table="|".join(all_tables()),
    figure=r"\d\d",
    number="|".join(str(n) for n in PAPER_TABLES),


def script(name):
    """The script a rule runs, as a path from the working directory (stable, so it never
    changes a job's params)."""
    return os.path.relpath(Path(workflow.basedir) / "scripts" / f"{name}.py")


def canonical(value):
    """A config section with every mapping's keys sorted: Snakemake reruns a job whose
    params text changed, and reordering keys in a YAML file must not retrain anything."""
    return json.loads(json.dumps(value, sort_keys=True))


def section(*keys):
    """config[keys[0]][keys[1]]..., canonical."""
    value = config
    for key in keys:
        value = value[key]
    return canonical(value)


def job_spec(build):
    """`build(wildcards)` -> the job's spec as JSON, a params function whose change reruns
    the job. The builders' own mappings keep their order (coordinates are columns in that
    order, models are compared in config order); what comes from the config is
    canonical."""

    def spec(wildcards):
        return json.dumps(build(wildcards))

    return spec


def filled(pattern, wildcards, **values):
    """A rule's output pattern filled with the job's wildcards (and `values`)."""
    return paths.fill(pattern, **dict(wildcards.items()), **values)


# -- data ------------------------------------------------------------------------------
def dataset_path(env, dataset):
    """contract: HDF5. The D4RL v2 file of (env, dataset) from the configured source."""
    return paths.fill(paths.DATASET, source=SOURCE, env=env, dataset=dataset)


def probe_batch_path(env):
    return paths.fill(paths.PROBE_BATCH, source=SOURCE, env=env, dataset=config["dataset"])


def reference_returns_path(env):
    return paths.fill(paths.REFERENCE_RETURNS, source=SOURCE, env=env)


def has_random_datasets():
    """The paper's normalisation reads the random sets; the Hub mirror has none."""
    return SOURCE != "d4rl" or D4RLSources.from_config(config["data"]["d4rl"]).provides("random")


def random_dataset_input(wildcards):
    """Where no configured source can serve the random set, the paper's convention is
    reported missing instead."""
    return dataset_path(wildcards.env, "random") if has_random_datasets() else []


def expert_dataset_input(wildcards):
    return dataset_path(wildcards.env, "expert")


def probed_dataset_input(wildcards):
    """The dataset the probe batch is drawn from (`dataset`, the one runs train on)."""
    return dataset_path(wildcards.env, config["dataset"])


def behaviour_policy_input(wildcards):
    """The random set needs no policy; medium and expert roll out the env's SAC agent."""
    if wildcards.dataset == "random":
        return []
    return paths.fill(paths.BEHAVIOUR_POLICY, env=wildcards.env)


def data_targets():
    return [
        *(dataset_path(env, config["dataset"]) for env in config["envs"]),
        *(probe_batch_path(env) for env in config["envs"]),
        *(reference_returns_path(env) for env in config["envs"]),
    ]


@job_spec
def fetch_spec(wildcards):
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "d4rl": section("data", "d4rl"),
        "out": filled(paths.DATASET, wildcards, source="d4rl"),
    }


@job_spec
def behaviour_policy_spec(wildcards):
    synthetic = config["data"]["synthetic"]
    return {
        "env": wildcards.env,
        "seed": synthetic["seed"],
        "policy": section("data", "synthetic", "behaviour_policy"),
        "out": filled(paths.BEHAVIOUR_POLICY, wildcards),
    }


@job_spec
def synthesis_spec(wildcards):
    synthetic = config["data"]["synthetic"]
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "seed": synthetic["seed"],
        "transitions": synthetic["transitions"][wildcards.dataset],
        "medium_action_noise": synthetic["medium_action_noise"],
        "policy": behaviour_policy_input(wildcards) or None,
        "out": filled(paths.DATASET, wildcards, source="synthetic"),
    }


@job_spec
def reference_returns_spec(wildcards):
    return {
        "env": wildcards.env,
        "random": random_dataset_input(wildcards) or None,
        "expert": expert_dataset_input(wildcards),
        "out": reference_returns_path(wildcards.env),
    }


@job_spec
def probe_batch_spec(wildcards):
    return {
        "dataset": probed_dataset_input(wildcards),
        "probe": section("probe"),
        "max_episode_steps": config["training"]["max_episode_steps"],
        "returns_scale": config["training"]["returns_scale"],
        "out": probe_batch_path(wildcards.env),
    }


# -- pre-trained backbones -------------------------------------------------------------
def pretrained_dir(modality):
    return paths.fill(paths.PRETRAINED, modality=modality)


def architecture_dir(weights):
    return paths.fill(paths.ARCHITECTURE, weights=weights)


def pipeline_made_weights(weights):
    """The directory the pipeline makes for `backbones.<weights>`, if it makes one."""
    source = config["backbones"][weights]["source"]
    if source == "pretrain":
        return pretrained_dir(PRETRAINING_MODALITY[weights])
    if source == "architecture":
        return architecture_dir(weights)
    return None


def pretrained_location(weights):
    """Where `backbones.<weights>` is loaded from: a hub id and revision, or a directory."""
    made = pipeline_made_weights(weights)
    if made is not None:
        return {"name_or_path": made, "revision": None}
    spec = config["backbones"][weights]
    return {"name_or_path": spec["name"], "revision": spec.get("revision")}


def pretrained_inputs(wildcards):
    """The pipeline's own weights a run needs (none for hub or local weights)."""
    made = (pipeline_made_weights(w) for w in pretrained_weights(wildcards.model))
    return [path for path in made if path is not None]


def pretrain_targets():
    """The pipeline's own weights some run needs."""
    return sorted({p for run in RUNS for p in pretrained_inputs(run)})


def architecture_config(wildcards):
    """The config.json of `backbones.<weights>.name` (source architecture)."""
    return f"{config['backbones'][wildcards.weights]['name']}/config.json"


@job_spec
def init_backbone_spec(wildcards):
    backbone = config["backbones"][wildcards.weights]
    return {
        "architecture": backbone["name"],
        "seed": backbone["seed"],
        "out": architecture_dir(wildcards.weights),
    }


@job_spec
def pretrain_spec(wildcards):
    return {
        "modality": wildcards.modality,
        "pretraining": section("pretraining", wildcards.modality),
        "out": pretrained_dir(wildcards.modality),
    }


# -- training runs ---------------------------------------------------------------------
def last_epoch(experiment, env):
    return experiment_epochs(config["experiments"][experiment], env)


def run_of(wildcards):
    return Run(
        experiment=wildcards.experiment,
        model=wildcards.model,
        env=wildcards.env,
        dataset=wildcards.dataset,
        seed=int(wildcards.seed),
    )


def settings_of(run):
    """runs.run_settings of one run, with the configured weights' locations."""
    locations = {w: pretrained_location(w) for w in PRETRAINING_MODALITY}
    return canonical(run_settings(config, run, locations, checkpoint_epochs(config, run)))


def train_targets():
    return [run.path(paths.RUN_METRICS) for run in RUNS]


@job_spec
def train_spec(wildcards):
    run = run_of(wildcards)
    return {
        "settings": settings_of(run),
        "dataset": dataset_path(run.env, run.dataset),
        "reference_returns": reference_returns_path(run.env),
        "work_dir": run.path(paths.RUN_WORK),
        "metrics": run.path(paths.RUN_METRICS),
        "checkpoints": run.path(paths.RUN_CHECKPOINTS),
    }


# -- probes ----------------------------------------------------------------------------
def probe_targets():
    """The probe directory of every run some analysis reads."""
    return [probe_dir(run) for run in RUNS if probed_epochs(config, run)]


@job_spec
def probe_spec(wildcards):
    run = run_of(wildcards)
    sections = probe_sections(config, run)
    gradients = any("gradients" in s for s in sections.values())
    return {
        "settings": settings_of(run),
        "sections": sections,
        "gradients": canonical(analysis_settings(config, "gradients")) if gradients else None,
        "checkpoints": run.path(paths.RUN_CHECKPOINTS),
        "probe_batch": probe_batch_path(run.env),
        "out": probe_dir(run),
    }


# -- metric tables ---------------------------------------------------------------------
def partition_runs(analysis, wildcards):
    return analysed_runs(config, analysis, wildcards.env, wildcards.dataset, int(wildcards.seed))


def analysis_inputs(analysis):
    """Input function: the probe directories of the runs one partition of `analysis`
    reads, or their checkpoint directories and the pipeline's weights their untrained
    models are rebuilt from."""
    reads_dumps = ANALYSES[analysis].reads == "dump"

    def inputs(wildcards):
        runs = partition_runs(analysis, wildcards)
        if reads_dumps:
            return [probe_dir(run) for run in runs]
        weights = {path for run in runs for path in pretrained_inputs(run)}
        return [run.path(paths.RUN_CHECKPOINTS) for run in runs] + sorted(weights)

    return inputs


# -- memory: the jobs whose peak follows the configured shapes declare it ---------------
# (modality_rl.budgets: estimated from the shapes, calibrated on the peaks measured at the
# paper's; bench/README.md, "Memory of the jobs"). Other rules declare a constant.
def train_mem_mb(wildcards):
    return budgets.train_mb(config, run_of(wildcards))


def probe_mem_mb(wildcards):
    return budgets.probe_mb(config, run_of(wildcards))


def table_mem_mb(analysis):
    def mem_mb(wildcards):
        seed = int(wildcards.seed)
        return budgets.table_mb(config, analysis, wildcards.env, wildcards.dataset, seed)

    return mem_mb


def mutual_information_data_mem_mb(wildcards):
    return budgets.mutual_information_data_mb(config, wildcards.env)


def analysis_outputs(analysis):
    """The partition of each of the analysis' tables, as named outputs."""
    return {
        table: paths.partial(paths.TABLE_PARTITION, table=table)
        for table in ANALYSES[analysis].tables
    }


def analysis_spec(analysis):
    reads_dumps = ANALYSES[analysis].reads == "dump"

    def build(wildcards):
        epochs = analysis_epochs(config, analysis, wildcards.env)
        runs = partition_runs(analysis, wildcards)
        return {
            "analysis": analysis,
            "epochs": epochs,
            "inputs": {
                run.model: {
                    e: (
                        probe_dump_path(run, e)
                        if reads_dumps
                        else paths.checkpoint(run.path(paths.RUN_CHECKPOINTS), e)
                    )
                    for e in epochs
                }
                for run in runs
            },
            "coordinates": {
                "experiment": config["analysis"][analysis]["experiment"],
                "env": wildcards.env,
                "dataset": wildcards.dataset,
                "seed": int(wildcards.seed),
            },
            "settings": (
                canonical(analysis_settings(config, analysis))
                if ANALYSES[analysis].table_settings
                else {}
            ),
            "out": {
                table: filled(pattern, wildcards)
                for table, pattern in analysis_outputs(analysis).items()
            },
        }

    return job_spec(build)


@job_spec
def mutual_information_data_spec(wildcards):
    return {
        "probe_batch": probe_batch_path(wildcards.env),
        "coordinates": {"env": wildcards.env, "dataset": wildcards.dataset},
        "mine": canonical(analysis_settings(config, "mutual_information")),
        "out": filled(MUTUAL_INFORMATION_DATA_PARTITION, wildcards),
    }


def learning_curve_runs(wildcards):
    return [
        run
        for run in RUNS
        if (run.experiment, run.env, run.dataset, run.seed)
        == (wildcards.experiment, wildcards.env, wildcards.dataset, int(wildcards.seed))
    ]


def learning_curve_metrics(wildcards):
    return [run.path(paths.RUN_METRICS) for run in learning_curve_runs(wildcards)]


@job_spec
def learning_curve_spec(wildcards):
    return {
        "metrics": {
            run.model: run.path(paths.RUN_METRICS) for run in learning_curve_runs(wildcards)
        },
        "epochs": {
            run.model: last_epoch(run.experiment, run.env) for run in learning_curve_runs(wildcards)
        },
        "coordinates": {
            "experiment": wildcards.experiment,
            "env": wildcards.env,
            "dataset": wildcards.dataset,
            "seed": int(wildcards.seed),
        },
        "out": filled(paths.CURVES_PARTITION, wildcards),
    }


def table_partitions(wildcards):
    return partitions(config, wildcards.table)


@job_spec
def gather_spec(wildcards):
    return {"partitions": table_partitions(wildcards), "out": filled(paths.TABLE, wildcards)}


def table_targets():
    return [paths.fill(paths.TABLE, table=table) for table in all_tables()]


# -- figures and the paper's tables ----------------------------------------------------
# {figure: {letter: why the configuration cannot draw that panel, or None}}, worked out
# once per invocation (every figure job and target reads it).
PANEL_PROBLEMS = {
    number: {panel.panel: panel_problem(panel, config) for panel in panels}
    for number, panels in FIGURES.items()
}


def paper_table_seeds(table):
    return [seed for seed in (table.seeds or config["seeds"]) if seed in config["seeds"]]


def paper_table_problem(table):
    """Why the configuration cannot make one of Tables 1, 2, 4 (None: it can)."""
    if not paper_table_seeds(table):
        return f"its seeds {list(table.seeds)} are not in seeds (config key seeds)"
    models = {run.model for run in RUNS if run.experiment == table.experiment}
    absent = [model for model in table.models if model not in models]
    if absent:
        return f"model {absent[0]!r} has no {table.experiment} run (config key models)"
    return None


def left_out():
    """What the configuration cannot make, and why: logged once per invocation."""
    for number in FIGURES:
        problems = {letter: why for letter, why in PANEL_PROBLEMS[number].items() if why}
        if len(problems) == len(FIGURES[number]):
            yield f"figure {number}: {next(iter(problems.values()))}"
        elif problems:
            yield f"figure {number} without panel(s) {', '.join(problems)}: " + "; ".join(
                sorted(set(problems.values()))
            )
    for number, table in PAPER_TABLES.items():
        if paper_table_problem(table):
            yield f"Table {number}: {paper_table_problem(table)}"


DRAWN_FIGURES = [n for n in FIGURES if None in PANEL_PROBLEMS[n].values()]
DRAWN_TABLES = [n for n, table in PAPER_TABLES.items() if paper_table_problem(table) is None]
for line in left_out():
    logger.info(f"left out, as the configuration cannot make it: {line}")


def figure_targets():
    figures = [
        paths.fill(paths.FIGURE, figure=f"{n:02d}", ext=ext)
        for n in DRAWN_FIGURES
        for ext in ("pdf", "png")
    ]
    tables = [
        paths.fill(paths.PAPER_TABLE, number=n, ext=ext)
        for n in DRAWN_TABLES
        for ext in ("csv", "md")
    ]
    metrics = [paths.fill(paths.PAPER_TABLE_METRICS, number=n) for n in DRAWN_TABLES]
    plots = [paths.fill(paths.CURVES_PLOT, env=env) for env in config["envs"]]
    return figures + tables + [CONFIGURATION_TABLE] + metrics + plots


def figure_panels(wildcards):
    """The letters of the panels the configuration can draw; a figure it can draw none
    of stops the run in one line that names why."""
    number = int(wildcards.figure)
    panels = PANEL_PROBLEMS[number]
    if all(panels.values()):
        raise ValueError(f"figure {number} cannot be drawn: {next(iter(panels.values()))}")
    return [letter for letter, why in panels.items() if why is None]


def figure_tables(wildcards):
    """The table partitions the figure's drawable panels read."""
    panels = figure_panels(wildcards)
    number = int(wildcards.figure)
    return figure_inputs([p for p in FIGURES[number] if p.panel in panels], config["dataset"])


def figure_caption(wildcards):
    return FIGURES[int(wildcards.figure)][0].caption


@job_spec
def figure_spec(wildcards):
    return {
        "figure": int(wildcards.figure),
        "catalogue": CATALOGUE,
        "dataset": config["dataset"],
        "options": section("figures"),
        "panels": figure_panels(wildcards),
        "pdf": filled(paths.FIGURE, wildcards, ext="pdf"),
        "png": filled(paths.FIGURE, wildcards, ext="png"),
    }


def learning_curve_partitions(experiment, envs, seeds):
    """{learning_curves partition: the experiment's last epoch in its env}."""
    return {
        table_partition(LEARNING_CURVES, env, config["dataset"], seed, experiment): last_epoch(
            experiment, env
        )
        for env in envs
        for seed in seeds
    }


def paper_table_partitions(wildcards):
    """The learning-curve partitions of the table's experiment, envs and seeds."""
    table = PAPER_TABLES[int(wildcards.number)]
    if paper_table_problem(table):
        raise ValueError(f"Table {table.number} cannot be made: {paper_table_problem(table)}")
    return learning_curve_partitions(table.experiment, config["envs"], paper_table_seeds(table))


def all_reference_returns():
    """Which score convention is missing for an env (and why) is in its reference returns."""
    return [reference_returns_path(env) for env in config["envs"]]


def paper_table_curves(wildcards):
    return list(paper_table_partitions(wildcards))


@job_spec
def paper_table_spec(wildcards):
    return {
        "number": int(wildcards.number),
        "curves": paper_table_partitions(wildcards),
        "published": PUBLISHED,
        "reference_returns": all_reference_returns(),
        "csv": filled(paths.PAPER_TABLE, wildcards, ext="csv"),
        "md": filled(paths.PAPER_TABLE, wildcards, ext="md"),
        "json": filled(paths.PAPER_TABLE_METRICS, wildcards),
    }


@job_spec
def configuration_table_spec(wildcards):
    return {
        "config": {
            key: section(key) for key in ("training", "backbones", "experiments", "evaluation")
        },
        "md": CONFIGURATION_TABLE,
    }


def learning_curve_plot_partitions(wildcards):
    return learning_curve_partitions("main", [wildcards.env], config["seeds"])


def learning_curve_plot_curves(wildcards):
    return list(learning_curve_plot_partitions(wildcards))


@job_spec
def learning_curve_plot_spec(wildcards):
    # The paper's convention where it exists; D4RL's (always there) without random sets.
    convention = "paper" if has_random_datasets() else "d4rl"
    curves = learning_curve_plot_partitions(wildcards)
    return {
        "curves": curves,
        "convention": convention,
        "out": filled(paths.CURVES_PLOT, wildcards),
    }


# -- claims ----------------------------------------------------------------------------
def claims_targets():
    return [paths.CLAIMS_MD, paths.CLAIMS_CSV, paths.CLAIMS_RST, paths.CLAIMS_METRICS]


def claims_tables():
    """{table: its gathered CSV} of every table some claim reads."""
    return {
        table: paths.fill(paths.TABLE, table=table)
        for table in claim_tables(load_claims(CLAIMS_FILE))
    }


@job_spec
def claims_spec(wildcards):
    return {
        "claims": CLAIMS_FILE,
        "tables": claims_tables(),
        "config": canonical(config),
        "paper_config": PAPER_CONFIG,
        "md": paths.CLAIMS_MD,
        "csv": paths.CLAIMS_CSV,
        "rst": paths.CLAIMS_RST,
        "json": paths.CLAIMS_METRICS,
    }
