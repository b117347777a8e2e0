# The data stage's paths, inputs, targets, job specs and memory (rules/data.smk).

from modality_rl.data.sources import D4RLSources

SOURCE = config["data"]["source"]


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
