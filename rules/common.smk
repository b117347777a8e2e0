# Helpers shared by the rule files, and no rules. The run list, the paths of the
# contracts (modality_rl.paths), the target lists of each stage, and the job spec each
# rule hands its script.
#
# Every job runs `python {params.script} {params.spec:q}`. The spec is a JSON object that
# the script loads into its job dataclass (scripts/<job>.py). Spec builders return plain
# data, with config sections made canonical (`section`, `canonical`) so that reordering
# keys in a YAML file changes no params and reruns nothing; `job_spec` makes them params.

import json
import os
import sys
from pathlib import Path

# Scripts import the library of this checkout, whether or not it was pip-installed.
SRC_DIR = Path(workflow.basedir) / "src"
shell.prefix(f"set -euo pipefail; export PYTHONPATH={SRC_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

# Planning is library logic (these modules import no torch, so planning stays fast).
sys.path.insert(0, str(SRC_DIR))
from modality_rl import paths
from modality_rl.analyses import (
    ANALYSES,
    DATA_TABLES,
    LEARNING_CURVES,
    all_tables,
    analysed_runs,
    analysis_epochs,
    analysis_settings,
    partitions,
    probe_dir,
    probe_dump_path,
    probe_sections,
    probed_epochs,
    table_partition,
)
from modality_rl.claims.verdicts import claim_tables, load_claims
from modality_rl.data.sources import D4RLSources
from modality_rl.figures.catalogue import data_figures
from modality_rl.figures.draw import figure_inputs
from modality_rl.runs import Run, enumerate_runs, pretrained_weights, run_settings
from modality_rl.tables.paper import PAPER_TABLES

CONDA_ENV = "../envs/modality_rl.yaml"
RUNS = enumerate_runs(config)
SOURCE = config["data"]["source"]
# Read by the figure and paper-table jobs, and declared as their inputs.
CATALOGUE = "resources/figures.tsv"
PUBLISHED = "resources/paper_tables.tsv"
CLAIMS_FILE = "resources/claims.yaml"
FIGURES = data_figures(CATALOGUE)
# Which pre-training modality stands in for configured weights offline (source: pretrain).
PRETRAINING_MODALITY = {"gpt2": "language", "igpt": "image"}


wildcard_constraints:
    env="|".join(config["envs"]),
    dataset="medium|random|expert",
    modality="language|image",
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
    """`build(wildcards, input, output)` -> the job's spec as JSON, a params function. The
    builders' own mappings keep their order (coordinates are columns in that order, models
    are compared in config order); what comes from the config is canonical."""

    def spec(wildcards, input, output):
        return json.dumps(build(wildcards, input, output))

    return spec


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
def fetch_spec(wildcards, input, output):
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "d4rl": section("data", "d4rl"),
        "out": output[0],
    }


@job_spec
def behaviour_policy_spec(wildcards, input, output):
    synthetic = config["data"]["synthetic"]
    return {
        "env": wildcards.env,
        "seed": synthetic["seed"],
        "policy": section("data", "synthetic", "behaviour_policy"),
        "out": output[0],
    }


@job_spec
def synthesis_spec(wildcards, input, output):
    synthetic = config["data"]["synthetic"]
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "seed": synthetic["seed"],
        "transitions": synthetic["transitions"][wildcards.dataset],
        "medium_action_noise": synthetic["medium_action_noise"],
        "policy": input.policy or None,
        "out": output[0],
    }


@job_spec
def reference_returns_spec(wildcards, input, output):
    return {
        "env": wildcards.env,
        "random": input.random or None,
        "expert": input.expert,
        "out": output[0],
    }


@job_spec
def probe_batch_spec(wildcards, input, output):
    return {
        "dataset": input.dataset,
        "probe": section("probe"),
        "max_episode_steps": config["training"]["max_episode_steps"],
        "returns_scale": config["training"]["returns_scale"],
        "out": output[0],
    }


# -- pre-trained backbones -------------------------------------------------------------
def pretrained_dir(modality):
    return paths.fill(paths.PRETRAINED, modality=modality)


def pretrained_location(weights):
    """Where `backbones.<weights>` is loaded from: a hub id and revision, or a directory."""
    spec = config["backbones"][weights]
    if spec["source"] == "pretrain":
        return {"name_or_path": pretrained_dir(PRETRAINING_MODALITY[weights]), "revision": None}
    return {"name_or_path": spec["name"], "revision": spec.get("revision")}


def pretrained_inputs(wildcards):
    """The pipeline's own pre-trained models a run needs (none for hub or local weights)."""
    return [
        pretrained_dir(PRETRAINING_MODALITY[w])
        for w in pretrained_weights(wildcards.model)
        if config["backbones"][w]["source"] == "pretrain"
    ]


def pretrain_targets():
    """The pipeline's own pre-trained models some run needs."""
    return sorted({p for run in RUNS for p in pretrained_inputs(run)})


@job_spec
def pretrain_spec(wildcards, input, output):
    return {
        "modality": wildcards.modality,
        "pretraining": section("pretraining", wildcards.modality),
        "out": output[0],
    }


# -- training runs ---------------------------------------------------------------------
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
    return canonical(run_settings(config, run, locations))


def train_targets():
    return [run.path(paths.RUN_METRICS) for run in RUNS]


@job_spec
def train_spec(wildcards, input, output):
    run = run_of(wildcards)
    return {
        "settings": settings_of(run),
        "dataset": input.dataset,
        "reference_returns": input.reference_returns,
        "work_dir": run.path(paths.RUN_WORK),
        "metrics": output.metrics,
        "checkpoints": output.checkpoints,
    }


# -- probes ----------------------------------------------------------------------------
def probe_targets():
    """The probe directory of every run some analysis reads."""
    return [probe_dir(run) for run in RUNS if probed_epochs(config, run)]


@job_spec
def probe_spec(wildcards, input, output):
    run = run_of(wildcards)
    sections = probe_sections(config, run)
    gradients = any("gradients" in s for s in sections.values())
    return {
        "settings": settings_of(run),
        "sections": sections,
        "gradients": canonical(analysis_settings(config, "gradients")) if gradients else None,
        "checkpoints": input.checkpoints,
        "probe_batch": input.probe_batch,
        "out": output[0],
    }


# -- metric tables ---------------------------------------------------------------------
def partition_runs(analysis, wildcards):
    return analysed_runs(config, analysis, wildcards.env, wildcards.dataset, int(wildcards.seed))


def analysis_inputs(analysis):
    """Input function: the probe directories (or checkpoint directories) of the runs one
    partition of `analysis` reads."""
    reads_dumps = ANALYSES[analysis].reads == "dump"

    def inputs(wildcards):
        return [
            probe_dir(run) if reads_dumps else run.path(paths.RUN_CHECKPOINTS)
            for run in partition_runs(analysis, wildcards)
        ]

    return inputs


# Memory of one table job, MB.
TABLE_MEM_MB = {
    "cka": 8000,
    "mutual_information": 16000,
    "parameter_change": 8000,
    "gradients": 2000,
    "attention_distance": 8000,
}


def analysis_outputs(analysis):
    """The partition of each of the analysis' tables, as named outputs."""
    return {
        table: paths.partial(paths.TABLE_PARTITION, table=table)
        for table in ANALYSES[analysis].tables
    }


def analysis_spec(analysis):
    reads_dumps = ANALYSES[analysis].reads == "dump"

    def build(wildcards, input, output):
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
            "out": dict(output.items()),
        }

    return job_spec(build)


@job_spec
def mutual_information_data_spec(wildcards, input, output):
    return {
        "probe_batch": input.probe_batch,
        "coordinates": {"env": wildcards.env, "dataset": wildcards.dataset},
        "mine": canonical(analysis_settings(config, "mutual_information")),
        "out": output[0],
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
def learning_curve_spec(wildcards, input, output):
    return {
        "metrics": {
            run.model: run.path(paths.RUN_METRICS) for run in learning_curve_runs(wildcards)
        },
        "coordinates": {
            "experiment": wildcards.experiment,
            "env": wildcards.env,
            "dataset": wildcards.dataset,
            "seed": int(wildcards.seed),
        },
        "out": output[0],
    }


def table_partitions(wildcards):
    return partitions(config, wildcards.table)


@job_spec
def gather_spec(wildcards, input, output):
    return {"partitions": list(input), "out": output[0]}


def table_targets():
    return [paths.fill(paths.TABLE, table=table) for table in all_tables()]


# -- figures and the paper's tables ----------------------------------------------------
def figure_targets():
    figures = [
        paths.fill(paths.FIGURE, figure=f"{n:02d}", ext=ext)
        for n in FIGURES
        for ext in ("pdf", "png")
    ]
    tables = [
        paths.fill(paths.PAPER_TABLE, number=n, ext=ext)
        for n in PAPER_TABLES
        for ext in ("csv", "md")
    ]
    metrics = [paths.fill(paths.PAPER_TABLE_METRICS, number=n) for n in PAPER_TABLES]
    plots = [paths.fill(paths.CURVES_PLOT, env=env) for env in config["envs"]]
    return figures + tables + [paths.fill(paths.PAPER_TABLE, number=3, ext="md")] + metrics + plots


def figure_tables(wildcards):
    """The table partitions a figure's panels read."""
    return figure_inputs(FIGURES[int(wildcards.figure)], config["dataset"])


def figure_caption(wildcards):
    return FIGURES[int(wildcards.figure)][0].caption


@job_spec
def figure_spec(wildcards, input, output):
    return {
        "figure": int(wildcards.figure),
        "catalogue": input.catalogue,
        "dataset": config["dataset"],
        "options": section("figures"),
        "pdf": output.pdf,
        "png": output.png,
    }


def learning_curve_partitions(experiment, envs, seeds):
    return [
        table_partition(LEARNING_CURVES, env, config["dataset"], seed, experiment)
        for env in envs
        for seed in seeds
    ]


def paper_table_curves(wildcards):
    """The learning-curve partitions of the table's experiment, envs and seeds."""
    table = PAPER_TABLES[int(wildcards.number)]
    return learning_curve_partitions(
        table.experiment, config["envs"], table.seeds or config["seeds"]
    )


@job_spec
def paper_table_spec(wildcards, input, output):
    return {
        "number": int(wildcards.number),
        "curves": list(input.curves),
        "published": input.published,
        "reference_returns": list(input.reference_returns),
        "csv": output.csv,
        "md": output.md,
        "json": output.json,
    }


@job_spec
def configuration_table_spec(wildcards, input, output):
    return {
        "config": {
            key: section(key) for key in ("training", "backbones", "experiments", "evaluation")
        },
        "md": output[0],
    }


def learning_curve_plot_curves(wildcards):
    return learning_curve_partitions("main", [wildcards.env], config["seeds"])


@job_spec
def learning_curve_plot_spec(wildcards, input, output):
    # The paper's convention where it exists; D4RL's (always there) without random sets.
    convention = "paper" if has_random_datasets() else "d4rl"
    return {"curves": list(input), "convention": convention, "out": output[0]}


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
def claims_spec(wildcards, input, output):
    return {
        "claims": input.claims,
        "tables": claims_tables(),
        "config": canonical(config),
        "paper_config": input.paper_config,
        "md": output.md,
        "csv": output.csv,
        "rst": output.rst,
        "json": output.json,
    }
