# The pretrain stage's paths, inputs, targets, job specs and memory (rules/pretrain.smk).

from modality_rl.runs import PRETRAINING_MODALITY, pretrained_weights


wildcard_constraints:
    modality="language|image",
    weights="gpt2|igpt",


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
    """The pipeline's own weights a run needs (none for hub or local weights): inputs of
    the train, probe and parameter-change jobs."""
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
