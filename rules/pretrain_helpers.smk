# The pretrain stage's paths, inputs, targets, job specs and memory (rules/pretrain.smk).

from modality_rl import bodies

# {pretraining directory name: (modality, architecture)} of the `source: pretrain` bodies.
PRETRAININGS = {
    bodies.pretraining_name(entry): bodies.pretraining_of(entry)
    for entry in config["backbones"].values()
    if bodies.source(entry) == "pretrain"
}
ARCHITECTURE_BODIES = [
    name for name, entry in config["backbones"].items() if bodies.source(entry) == "architecture"
]


wildcard_constraints:
    modality="|".join(PRETRAININGS) or "(?!)",
    weights="|".join(ARCHITECTURE_BODIES) or "(?!)",


def pretrained_dir(name):
    return paths.fill(paths.PRETRAINED, modality=name)


def architecture_dir(weights):
    return paths.fill(paths.ARCHITECTURE, weights=weights)


def pipeline_made_weights(weights):
    """The directory the pipeline makes for `backbones.<weights>`, if it makes one."""
    entry = config["backbones"][weights]
    if bodies.source(entry) == "pretrain":
        return pretrained_dir(bodies.pretraining_name(entry))
    if bodies.source(entry) == "architecture":
        return architecture_dir(weights)
    return None


def pretrained_location(weights):
    """Where `backbones.<weights>` is loaded from: a hub id and revision, or a directory
    (and the family to load it as, where the entry says)."""
    made = pipeline_made_weights(weights)
    entry = config["backbones"][weights]
    location = (
        {"name_or_path": made, "revision": None}
        if made is not None
        else {"name_or_path": entry["name"], "revision": entry.get("revision")}
    )
    return {**location, **({"load_as": entry["load_as"]} if "load_as" in entry else {})}


def pretrained_inputs(wildcards):
    """The pipeline's own weights a run needs (none for hub or local weights): inputs of
    the train, probe and parameter-change jobs."""
    made = (pipeline_made_weights(w) for w in bodies.weights_of(config, wildcards.model))
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
    """The pre-training of one modality in one architecture (named only when it is not the
    modality's own, so the paper's two keep their specs)."""
    modality, arch = PRETRAININGS[wildcards.modality]
    spec = {"modality": modality, "pretraining": section("pretraining", modality)}
    if arch != bodies.MODALITY_ARCHITECTURE[modality]:
        spec["architecture"] = arch
    return {**spec, "out": pretrained_dir(wildcards.modality)}
