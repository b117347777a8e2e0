# What every stage shares, and no rules: the library on the import path, the checked
# configuration, the memory bound, the run list and wildcards, and the spec machinery.
# Each stage's paths, inputs, targets, spec builders and memory sit beside its rules, in
# rules/<stage>_helpers.smk, which rules/<stage>.smk includes (`snakemake --lint` wants
# functions and rules in separate files). A stage reads an earlier stage's outputs
# through that stage's helpers or rules (`rules.train_run.output.checkpoints`).
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
import re
import sys
from pathlib import Path

from snakemake.resources import Resource

# Scripts import the library of this checkout, whether or not it was pip-installed.
SRC_DIR = Path(workflow.basedir) / "src"
shell.prefix(f"set -euo pipefail; export PYTHONPATH={SRC_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

# Planning is library logic (these modules import no torch, so planning stays fast).
sys.path.insert(0, str(SRC_DIR))
from modality_rl import paths
from modality_rl.code import code_digest
from modality_rl.configuration import check_config
from modality_rl.data.datasets import D4RL_DATASETS, PAPER_DATASET
from modality_rl.runs import Run, enumerate_runs, experiment_epochs

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


wildcard_constraints:
    env="|".join(config["envs"]),
    dataset="|".join(re.escape(d) for d in D4RL_DATASETS),
    experiment="|".join(config["experiments"]),
    model=r"[a-z0-9_]+",
    seed=r"\d+",
    epoch=r"\d+",


def script(name):
    """The script a rule runs, as a path from the working directory (stable, so it never
    changes a job's params)."""
    return os.path.relpath(Path(workflow.basedir) / "scripts" / f"{name}.py")


def code(name, *loads):
    """contract: code is an input. The digest of the code a job of scripts/<name>.py runs
    (with `loads`, modules it imports by name), a params value of every rule: a job whose
    code changed in what it computes reruns, as does what reads its outputs."""
    return code_digest([Path(workflow.basedir) / "scripts" / f"{name}.py"], loads)


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


def run_of(wildcards):
    """The run (contract: run identity) of a train, probe or memory function's job."""
    return Run(
        experiment=wildcards.experiment,
        model=wildcards.model,
        env=wildcards.env,
        dataset=wildcards.dataset,
        seed=int(wildcards.seed),
    )


def last_epoch(experiment, env):
    """The epoch a run of `experiment` in `env` ends at (contract: epochs)."""
    return experiment_epochs(config["experiments"][experiment], env)


# The paper's dataset keeps the paper's file names; another dataset's figures, tables and
# claims sit in folders named after it (paths.of_dataset). The figure and claims rules are
# made once per layout: "" for the paper's dataset, "_of_dataset" for the others.
LAYOUTS = {"": lambda pattern: pattern, "_of_dataset": paths.of_dataset}
OTHER_DATASETS = [d for d in config["datasets"] if d != PAPER_DATASET]


def dataset_of(wildcards):
    return wildcards.get("dataset", PAPER_DATASET)


def layout(dataset):
    return LAYOUTS["" if dataset == PAPER_DATASET else "_of_dataset"]


def placed(pattern, wildcards, **values):
    """A rule's output pattern, in its dataset's layout, filled with the job's wildcards."""
    return filled(layout(dataset_of(wildcards))(pattern), wildcards, **values)


def dataset_target(pattern, dataset, **values):
    """A target: `pattern` in `dataset`'s layout, filled."""
    return paths.fill(layout(dataset)(pattern), dataset=dataset, **values)


def of_another_dataset(wildcards):
    """The spec key naming a dataset other than the paper's (the paper's jobs keep their
    specs: theirs is medium)."""
    dataset = dataset_of(wildcards)
    return {} if dataset == PAPER_DATASET else {"dataset": dataset}
