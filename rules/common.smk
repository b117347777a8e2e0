# Helpers shared by every rule file: paths of the contracts, wildcard constraints,
# and the environment the shell commands run in. No rule lives here.

import json
import sys
from pathlib import Path

# Scripts import the library of this checkout, whether or not it was pip-installed.
SRC_DIR = Path(workflow.basedir) / "src"
SCRIPTS = Path(workflow.basedir) / "scripts"
shell.prefix(f"set -euo pipefail; export PYTHONPATH={SRC_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

# The run list is library logic (modality_rl.runs imports no torch, so planning stays fast).
sys.path.insert(0, str(SRC_DIR))
from modality_rl.runs import RUNS_DIR, Run, enumerate_runs, pretrained_weights, run_settings
from modality_rl.analyses import (DATA_TABLES, LEARNING_CURVES, PROBES_DIR, TABLES, TABLES_DIR,
                                  all_tables, analysed_runs, analysis_epochs, gradient_epoch,
                                  partitions, probe_dir, probe_dump_path, probed_epochs,
                                  table_partition)

CONDA_ENV = "../envs/modality_rl.yaml"
RUNS = enumerate_runs(config)
DATA_DIR = f"results/data/{config['data']['source']}"


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


def dataset_path(env, dataset):
    """contract: HDF5. The D4RL v2 file of (env, dataset) from the configured source."""
    return f"{DATA_DIR}/{env}_{dataset}-v2.hdf5"


def probe_batch_path(env):
    return f"{DATA_DIR}/{env}_{config['dataset']}_probe.hdf5"


def reference_returns_path(env):
    return f"{DATA_DIR}/{env}_reference_returns.json"


def behaviour_policy_input(wildcards):
    """The random set needs no policy; medium and expert roll out the env's SAC agent."""
    if wildcards.dataset == "random":
        return []
    return f"results/data/synthetic/behaviour/{wildcards.env}_sac.zip"


def data_targets():
    return [
        *(dataset_path(env, config["dataset"]) for env in config["envs"]),
        *(probe_batch_path(env) for env in config["envs"]),
        *(reference_returns_path(env) for env in config["envs"]),
    ]


def pretrained_dir(modality):
    return f"results/pretrained/{modality}"


def cli_options(section):
    """A flat config section as command-line options: {"n_layer": 3} -> "--n-layer 3"."""
    return " ".join(f"--{key.replace('_', '-')} {value}" for key, value in section.items())


def pretrained_location(weights):
    """Where `backbones.<weights>` is loaded from: a hub id and revision, or a directory."""
    spec = config["backbones"][weights]
    if spec["source"] == "pretrain":
        return {"name_or_path": pretrained_dir(PRETRAINING_MODALITY[weights]), "revision": None}
    return {"name_or_path": spec["name"], "revision": spec.get("revision")}


def run_of(wildcards):
    return Run(wildcards.experiment, wildcards.model, wildcards.env, wildcards.dataset,
               int(wildcards.seed))


def config_json(value):
    """Config-derived params as canonical JSON: Snakemake reruns a job whose params text
    changed, and reordering keys in a YAML file must not retrain anything."""
    return json.dumps(value, sort_keys=True)


def run_settings_json(wildcards):
    locations = {w: pretrained_location(w) for w in PRETRAINING_MODALITY}
    return config_json(run_settings(config, run_of(wildcards), locations))


def pretrained_inputs(wildcards):
    """The pipeline's own pre-trained models a run needs (none for hub or local weights)."""
    return [pretrained_dir(PRETRAINING_MODALITY[w]) for w in pretrained_weights(wildcards.model)
            if config["backbones"][w]["source"] == "pretrain"]


def pretrain_targets():
    """The pipeline's own pre-trained models some run needs."""
    return sorted({p for run in RUNS for p in pretrained_inputs(run)})


def train_targets():
    return [f"{run.directory}/metrics.csv" for run in RUNS]


def run_json(wildcards):
    return json.dumps({key: getattr(run_of(wildcards), key)
                       for key in ("experiment", "model", "env", "dataset", "seed")})


# -- probes and tables -----------------------------------------------------------------
def probed_epoch_options(wildcards):
    return " ".join(map(str, probed_epochs(config, run_of(wildcards))))


def gradient_options(wildcards):
    """--gradient-epoch and --gradients for the run whose dumps carry the gradient probe."""
    epoch = gradient_epoch(config, run_of(wildcards))
    if epoch is None:
        return ""
    settings = {key: value for key, value in config["analysis"]["gradients"].items()
                if key not in ("experiment", "epoch")}
    return f"--gradient-epoch {epoch} --gradients {config_json(settings)!r}"


def analysis_sources(wildcards, analysis, kind="dump"):
    """{model: {epoch: path}}: the probe dumps (or checkpoint files) a partition reads."""
    runs = analysed_runs(config, analysis, wildcards.env, wildcards.dataset, int(wildcards.seed))
    epochs = analysis_epochs(config, analysis, wildcards.env)
    if kind == "dump":
        return {run.model: {e: probe_dump_path(run, e) for e in epochs} for run in runs}
    return {run.model: {e: f"{run.directory}/checkpoints/epoch{e}.pt" for e in epochs}
            for run in runs}


def analysis_inputs(analysis, kind="dump"):
    """Input function: the runs' probe directories, or (checkpoints) checkpoint directories."""
    def inputs(wildcards):
        runs = analysed_runs(config, analysis, wildcards.env, wildcards.dataset,
                             int(wildcards.seed))
        if kind == "dump":
            return [probe_dir(run) for run in runs]
        return [f"{run.directory}/checkpoints" for run in runs]
    return inputs


def input_options(analysis, kind="dump"):
    def options(wildcards):
        return " ".join(f"--input {model} {epoch} {path}" for model, by_epoch
                        in analysis_sources(wildcards, analysis, kind).items()
                        for epoch, path in by_epoch.items())
    return options


def output_options(wildcards, output):
    return " ".join(f"--out {name} {path}" for name, path in output.items())


def analysis_epoch_options(analysis):
    def options(wildcards):
        return " ".join(map(str, analysis_epochs(config, analysis, wildcards.env)))
    return options


def coordinates_json(analysis):
    def coordinates(wildcards):
        return json.dumps({"experiment": config["analysis"][analysis]["experiment"],
                           "env": wildcards.env, "dataset": wildcards.dataset,
                           "seed": int(wildcards.seed)})
    return coordinates


def table_outputs(analysis):
    """The partition of each of the analysis' tables, as named outputs."""
    return {name: f"{TABLES_DIR}/{name}/{{env}}-{{dataset}}_seed{{seed}}.csv"
            for name in TABLES[analysis]}


def mine_json():
    settings = config["analysis"]["mutual_information"]
    return config_json({key: value for key, value in settings.items()
                       if key not in ("experiment", "epoch")})


def probe_targets():
    """The probe directory of every run some analysis reads."""
    return [probe_dir(run) for run in RUNS if probed_epochs(config, run)]


def table_targets():
    return [f"{TABLES_DIR}/{table}.csv" for table in all_tables()]
