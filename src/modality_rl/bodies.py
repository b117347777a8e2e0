"""contract: bodies. The configured bodies: which backbone entry each model is, where its
weights come from, its label, and its config.json as planning reads it (for memory
budgets and configuration checks, before any weights are loaded). Family-specific facts
come from modality_rl.models.families. Imports no torch.

A model of `models` (or an experiment's `models`) is the backbone entry of the same name;
a block-swap model `<donor>_block<b>` is the experiment's `receiver` body (default
`random`) with block b of its `donor` (default `gpt2`). An entry's `source` says where
the weights come from (absent: `random`):

    random        drawn at initialisation: `architecture` (default gpt2), n_layer,
                  n_embd, n_head, activation, `config` (more config.json keys)
    hub           `name` (a hub id) at `revision`, from the hub or its cache
    local         `name`: a save_pretrained directory
    pretrain      the pipeline's own tiny pre-training on `modality` (language | image)
                  in `architecture` (default: gpt2 for language, imagegpt for image)
    architecture  the real architecture of the config.json in `name`, RANDOM weights

`load_as` loads a checkpoint into another family's blocks (default: its own; ImageGPT's
is GPT-2's blocks, the paper's iGPT; `load_as: imagegpt` loads it natively).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from modality_rl.models.families import Family, architecture, family_of

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("random", "hub", "local", "pretrain", "architecture")
WEIGHT_SOURCES = ("hub", "local", "pretrain", "architecture")
# The paper's three bodies keep the paper's labels; another body is labelled by its
# entry's `label`, else its name.
PAPER_LABELS = {"random": "Random Init", "gpt2": "GPT2", "igpt": "iGPT"}
# The family the pipeline pre-trains each modality in unless `architecture` says another.
MODALITY_ARCHITECTURE = {"language": "gpt2", "image": "imagegpt"}
# config.json of the hub bodies config.yaml pins, kept in the repository: planning reads a
# body's shape before its weights are downloaded. Other hub bodies are read from the
# Hugging Face cache.
PINNED_HUB_CONFIGS = {"gpt2": "resources/architectures/gpt2/config.json",
                      "openai/imagegpt-small": "resources/architectures/imagegpt-small/config.json"}
BLOCK_SWAP_MODEL = re.compile(r"(?P<donor>[a-z0-9_]+?)_block(?P<block>\d+)")
# Keys of a `source: random` entry that are not the body's (RandomBodyConfig's fields).
ENTRY_ONLY_KEYS = ("source", "label")


class BodyConfigError(ValueError):
    """A configured body cannot be planned; the message names the config key."""


def source(entry: dict) -> str:
    return entry.get("source", "random")


def swapped_block(model: str) -> tuple[str, int] | None:
    """(donor, block) of a block-swap model `<donor>_block<b>`, else None."""
    match = BLOCK_SWAP_MODEL.fullmatch(model)
    return (match["donor"], int(match["block"])) if match else None


def block_swap(config: dict) -> dict | None:
    """The block-swap experiment's section (the one with `blocks`), or None."""
    return next((e for e in config["experiments"].values() if "blocks" in e), None)


def donor(experiment: dict) -> str:
    return experiment.get("donor", "gpt2")


def receiver(experiment: dict) -> str:
    return experiment.get("receiver", "random")


def backbone_of(config: dict, model: str) -> str:
    """The backbone entry a model's body is built from (block swap: the receiver)."""
    if swapped_block(model) is not None:
        return receiver(block_swap(config) or {})
    return model


def entry(config: dict, name: str) -> dict:
    if name not in config["backbones"]:
        raise BodyConfigError(f"config key backbones has no {name!r}; a model is the "
                              f"backbone entry of its name (backbones: "
                              f"{sorted(config['backbones'])})")
    return config["backbones"][name]


def weights_of(config: dict, model: str) -> list[str]:
    """The backbones whose weights a model loads (block swap: its donor's)."""
    swap = swapped_block(model)
    if swap is not None:
        return [swap[0]]
    return [model] if source(entry(config, model)) in WEIGHT_SOURCES else []


def random_body(config: dict, model: str) -> dict:
    """The randomly initialised body a run's settings carry (models.backbones
    .RandomBodyConfig): the model's own `source: random` entry, the block-swap receiver,
    else backbones.random (the Table 3 body)."""
    name = backbone_of(config, model)
    if name == model and source(entry(config, name)) != "random":
        name = "random"
    return {key: value for key, value in entry(config, name).items()
            if key not in ENTRY_ONLY_KEYS}


def label(config: dict, model: str) -> str:
    """How figures and tables name the model."""
    backbone = config["backbones"].get(model, {})
    return backbone.get("label") or PAPER_LABELS.get(model, model)


# -- the pipeline's own pre-training ---------------------------------------------------------
def pretraining_of(backbone: dict) -> tuple[str, str]:
    """(modality, architecture) of a `source: pretrain` entry."""
    modality = backbone["modality"]
    return modality, backbone.get("architecture", MODALITY_ARCHITECTURE[modality])


def pretraining_name(backbone: dict) -> str:
    """Its directory under results/pretrained: the modality, and the architecture when it
    is not the modality's own (language_llama)."""
    modality, arch = pretraining_of(backbone)
    return modality if arch == MODALITY_ARCHITECTURE[modality] else f"{modality}_{arch}"


# -- config.json, for planning -------------------------------------------------------------
def _read_config_json(path: Path, key: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BodyConfigError(f"config key {key}: {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise BodyConfigError(f"config key {key}: {path} is not JSON ({err})") from None


def _hub_config(name: str, revision: str | None, key: str) -> dict:
    if name in PINNED_HUB_CONFIGS:
        return _read_config_json(REPO / PINNED_HUB_CONFIGS[name], key)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(name, "config.json", revision=revision)
    if not isinstance(cached, str):
        raise BodyConfigError(
            f"config key {key}: planning needs {name}'s config.json (its shape sets the "
            f"jobs' memory), which is not in the Hugging Face cache: `huggingface-cli "
            f"download {name} config.json --revision {revision}`, or source: local")
    return _read_config_json(Path(cached), key)


def body_config(config: dict, name: str) -> tuple[type[Family], dict]:
    """The adapter and config.json keys of backbone `name`'s body, without loading it."""
    backbone, key = entry(config, name), f"backbones.{name}"
    kind = source(backbone)
    try:
        if kind == "random":
            family = architecture(backbone.get("architecture", "gpt2"))
            sizes = {k: backbone[k] for k in ("n_layer", "n_embd", "n_head")}
            shape = family.shape_config(**sizes, activation=backbone.get("activation"),
                                        **backbone.get("config", {}))
            return family, {**family.random_defaults(backbone), **shape}
        if kind == "pretrain":
            modality, arch = pretraining_of(backbone)
            family = architecture(arch)
            sizes = config["pretraining"][modality]
            shape = family.shape_config(n_layer=sizes["n_layer"], n_embd=sizes["n_embd"],
                                        n_head=sizes["n_head"],
                                        activation=family.default_activation,
                                        **backbone.get("config", {}))
            # Saved as `arch`'s own checkpoint, loaded as any other of its model_type.
            return family_of(arch, backbone.get("load_as")), {
                **family.random_defaults(sizes), **shape}
        if kind == "hub":
            loaded = _hub_config(backbone["name"], backbone.get("revision"), key)
        else:  # local, architecture: the directory's config.json
            loaded = _read_config_json(Path(backbone["name"]).expanduser() / "config.json",
                                       f"{key}.name")
        return family_of(loaded.get("model_type"), backbone.get("load_as")), loaded
    except ValueError as err:  # UnsupportedFamilyError, a missing size
        if isinstance(err, BodyConfigError):
            raise
        raise BodyConfigError(f"config key {key}: {err}") from None
