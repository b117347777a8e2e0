# The data stage's paths, inputs, targets, job specs and memory (rules/data.smk).

import re

from modality_rl.data.datasets import D4RL_DATASETS, REPLAYS, ROLLOUTS, STITCHED, ingredients
from modality_rl.data.minari_source import NOT_THE_PAPERS_DATA
from modality_rl.data.sources import D4RLSources

SOURCE = config["data"]["source"]
# A column of every table made from data that is not the paper's kind (Minari's).
DATA_COORDINATE = {"data": "minari: " + NOT_THE_PAPERS_DATA} if SOURCE == "minari" else {}


def minari_datasets():
    return config["data"]["minari"]["datasets"] if SOURCE == "minari" else []


def stitched_datasets():
    """The datasets stitched from others (medium-expert), where no configured source
    serves them as a file: always for synthetic data; for D4RL unless the release (url)
    is among the sources; for Minari where it holds the parts but not the whole."""
    if SOURCE == "d4rl" and "url" in config["data"]["d4rl"]["sources"]:
        return []
    if SOURCE == "minari":
        held = minari_datasets()
        return [d for d, parts in STITCHED.items() if d not in held and set(parts) <= set(held)]
    return list(STITCHED)


def fetched_datasets():
    """The D4RL datasets the fetch rule downloads (or copies) as files."""
    return [d for d in D4RL_DATASETS if d not in stitched_datasets()]


def constraint(names):
    """A wildcard constraint matching exactly `names` (nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def dataset_path(env, dataset):
    """contract: HDF5. The D4RL v2 file of (env, dataset) from the configured source."""
    return paths.fill(paths.DATASET, source=SOURCE, env=env, dataset=dataset)


def probe_batch_path(env, dataset):
    """The fixed probe batch of (env, dataset): every model trained there is probed on it."""
    return paths.fill(paths.PROBE_BATCH, source=SOURCE, env=env, dataset=dataset)


def reference_returns_path(env):
    return paths.fill(paths.REFERENCE_RETURNS, source=SOURCE, env=env)


def has_random_datasets():
    """The paper's normalisation reads the random sets; the Hub mirror and Minari's MuJoCo
    group have none."""
    if SOURCE == "minari":
        return "random" in minari_datasets()
    return SOURCE != "d4rl" or D4RLSources.from_config(config["data"]["d4rl"]).provides("random")


def random_dataset_input(wildcards):
    """Where no configured source can serve the random set, the paper's convention is
    reported missing instead."""
    return dataset_path(wildcards.env, "random") if has_random_datasets() else []


def expert_dataset_input(wildcards):
    return dataset_path(wildcards.env, "expert")


def probed_dataset_input(wildcards):
    """The dataset the probe batch is drawn from (the one its runs train on)."""
    return dataset_path(wildcards.env, wildcards.dataset)


def stitched_inputs(wildcards):
    """The datasets a stitched one is made of, in order (medium, then expert)."""
    return [dataset_path(wildcards.env, part) for part in ingredients(wildcards.dataset)]


def replay_level_input(wildcards):
    """medium-replay stops at the medium dataset's level, which it reads; full-replay
    reads nothing."""
    return [dataset_path(wildcards.env, "medium")] if wildcards.dataset == "medium-replay" else []


def behaviour_policy_input(wildcards):
    """The random set needs no policy; medium and expert roll out the env's SAC agent."""
    if wildcards.dataset == "random":
        return []
    return paths.fill(paths.BEHAVIOUR_POLICY, env=wildcards.env)


def data_targets():
    pairs = [(env, dataset) for env in config["envs"] for dataset in config["datasets"]]
    return [
        *(dataset_path(env, dataset) for env, dataset in pairs),
        *(probe_batch_path(env, dataset) for env, dataset in pairs),
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
def minari_spec(wildcards):
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "minari": section("data", "minari"),
        "out": filled(paths.DATASET, wildcards, source="minari"),
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
def stitch_spec(wildcards):
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "parts": dict(zip(ingredients(wildcards.dataset), stitched_inputs(wildcards))),
        "out": filled(paths.DATASET, wildcards, source=SOURCE),
    }


@job_spec
def replay_spec(wildcards):
    synthetic = config["data"]["synthetic"]
    return {
        "env": wildcards.env,
        "dataset": wildcards.dataset,
        "seed": synthetic["seed"],
        "policy": section("data", "synthetic", "behaviour_policy"),
        "medium": (replay_level_input(wildcards) or [None])[0],
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
        "out": probe_batch_path(wildcards.env, wildcards.dataset),
    }
