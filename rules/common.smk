# Helpers shared by every rule file: paths of the contracts, wildcard constraints,
# and the environment the shell commands run in. No rule lives here.

from pathlib import Path

# Scripts import the library of this checkout, whether or not it was pip-installed.
SRC_DIR = Path(workflow.basedir) / "src"
SCRIPTS = Path(workflow.basedir) / "scripts"
shell.prefix(f"set -euo pipefail; export PYTHONPATH={SRC_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

CONDA_ENV = "../envs/modality_rl.yaml"
DATA_DIR = f"results/data/{config['data']['source']}"


# Which pre-training modality stands in for a pre-trained backbone offline.
PRETRAINING_MODALITY = {"gpt2": "language", "igpt": "image", "igpt_native": "image"}


wildcard_constraints:
    env="|".join(config["envs"]),
    dataset="medium|random|expert",
    modality="language|image",


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
