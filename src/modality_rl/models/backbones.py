"""The Decision Transformer's bodies, built family-agnostically through the adapters of
modality_rl.models.families: a random body of any family, a pre-trained body loaded
loudly, and block swap.

- random: a body of its family with Hugging Face initialisation; Table 3's is GPT-2's
  architecture, 12 layers, 768 wide, 1 head, ReLU.
- pre-trained: weights from the Hugging Face hub or its cache (a hub id and a pinned
  revision) or from a `save_pretrained` directory, through `from_pretrained`. Its family
  is its config.json's `model_type`; `load_as` loads it into another family's blocks
  (ImageGPT's default is GPT-2's: the paper's "iGPT", whose bias-free, non-centring norm
  becomes a LayerNorm with zero bias; `load_as: imagegpt` is ImageGPT as it is).
  Every weight of the body must come from the checkpoint: a missing, unexpected or
  mis-shaped key (beyond a language-model head, and what the adapter leaves out on
  purpose) stops the job before the first training step, naming the keys.
- block swap: a random body whose block b is the donor's block b, the whole module (its
  heads and activation included), as the released block-replacement code swapped it.
  The released code's "block 0" run was a full GPT-2 run; here b = 0 swaps block 0 only.

Offline, `save_random_architecture` writes a `save_pretrained` directory of a real
architecture (its config.json) with RANDOM weights, marked so that every job loading it
says so: the paper's shapes (presets/paper_shapes.yaml) without the paper's weights.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from modality_rl.io import atomic_directory, write_json
from modality_rl.models.families import Family, architecture, body_family, family_of

log = logging.getLogger(__name__)

# Beside the weights of a body that has the real architecture but random weights.
RANDOM_WEIGHTS_MARKER = "RANDOM_WEIGHTS.json"
SHOWN_KEYS = 8  # keys named in a loading error; the count says how many more


@dataclass(frozen=True, kw_only=True)
class Dropout:
    """config key `training.dropout`."""
    embedding: float
    attention: float
    residual: float  # GPT-2 applies it to the residual and the MLP output


@dataclass(frozen=True, kw_only=True)
class RandomBodyConfig:
    """A randomly initialised body: config key `backbones.random` (Table 3: 12 x 768,
    1 head, ReLU) or any `source: random` entry."""
    n_layer: int
    n_embd: int
    n_head: int
    activation: str | None = None  # None: the family's default
    architecture: str = "gpt2"  # modality_rl.models.families.ARCHITECTURES
    config: dict[str, Any] = field(default_factory=dict)  # more config.json keys


@dataclass(frozen=True, kw_only=True)
class PretrainedLocation:
    """Where a backbone's weights load from: a hub id and revision, or a directory; and
    the family to load them as (None: their own)."""
    name_or_path: str
    revision: str | None = None
    load_as: str | None = None


class BackboneUnavailableError(RuntimeError):
    """Pre-trained weights could not be found locally, in the cache or on the hub."""


class BodyLoadError(RuntimeError):
    """A checkpoint does not fill the body it is loaded into."""


def random_body(cfg: RandomBodyConfig, dropout: Dropout, attn_implementation: str = "eager"):
    family = architecture(cfg.architecture)
    config = family.random_body_config(asdict(cfg), dropout, attn_implementation)
    return family.transformers_class(family.model_class)(config)


def checkpoint_model_type(location: PretrainedLocation) -> str | None:
    """The `model_type` of the checkpoint's config.json (the hub's, through its cache)."""
    from transformers import PretrainedConfig

    config, _ = PretrainedConfig.get_config_dict(location.name_or_path,
                                                 revision=location.revision)
    return config.get("model_type")


def pretrained_body(name: str, location: PretrainedLocation, dropout: Dropout, *,
                    attn_implementation: str = "eager"):
    """Load backbone `name`'s pre-trained body from `location`, every weight checked."""
    where = f"{location.name_or_path!r} (revision {location.revision})"
    if (Path(location.name_or_path) / RANDOM_WEIGHTS_MARKER).exists():
        log.warning("the %s body in %s has RANDOM weights, not pre-trained ones: only its "
                    "architecture is the real one (backbones source: architecture)", name,
                    location.name_or_path)
    try:
        family = family_of(checkpoint_model_type(location), location.load_as)
        config = family.transformers_class(family.config_class).from_pretrained(
            location.name_or_path, revision=location.revision)
        family.configure(config, dropout)
        body, report = family.transformers_class(family.model_class).from_pretrained(
            location.name_or_path, config=config, revision=location.revision,
            attn_implementation=attn_implementation, output_loading_info=True)
    except OSError as err:
        raise BackboneUnavailableError(
            f"cannot load backbones.{name} from {where}: {str(err).splitlines()[0]} Provide "
            f"it in one of three ways: on a machine with network, `huggingface-cli download "
            f"{location.name_or_path} --revision {location.revision}` and copy the Hugging "
            f"Face cache (HF_HOME) here; or save_pretrained it into a directory and set "
            f"backbones.{name}: {{source: local, name: <directory>}}; or set source: "
            "pretrain to use the tiny models the pipeline pre-trains offline (as "
            "presets/quick.yaml does).") from err
    check_loading(name, where, family, body, report)
    log.info("backbones.%s: %d weights of a %s body (%s) loaded from %s", name,
             sum(1 for _ in body.parameters()), family.name, type(body).__name__, where)
    return body


def check_loading(name: str, where: str, family: type[Family], body, report: dict) -> None:
    """Every weight of the body came from the checkpoint: nothing missing but what the
    adapter leaves out on purpose, nothing unexpected but a language-model head (and the
    buffers transformers itself ignores), nothing of the wrong shape."""
    ignored = [re.compile(p) for p in (body._keys_to_ignore_on_load_unexpected or [])]
    missing = [k for k in report["missing_keys"] if not k.endswith(family.missing_on_purpose)]
    unexpected = [k for k in report["unexpected_keys"]
                  if not k.startswith(family.head_keys) and not any(p.search(k) for p in ignored)]
    mismatched = [str(k) for k in report.get("mismatched_keys", [])]
    problems = [f"{len(keys)} {what}: {sorted(keys)[:SHOWN_KEYS]}"
                + (f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else "")
                for what, keys in (("weights missing from the checkpoint", missing),
                                   ("checkpoint keys the body has no place for", unexpected),
                                   ("weights of another shape", mismatched)) if keys]
    if problems:
        raise BodyLoadError(
            f"backbones.{name}: {where} does not fill a {family.name} body "
            f"({type(body).__name__}): {'; '.join(problems)}. Its config.json says which "
            "family it is; `load_as` (if set) forces another, whose blocks it must fit.")


def block_swap_body(cfg: RandomBodyConfig, donor: nn.Module, block: int, dropout: Dropout,
                    attn_implementation: str = "eager"):
    """A random body whose block `block` is the donor's block `block` (module and weights)."""
    body = random_body(cfg, dropout, attn_implementation)
    family, donor_family = body_family(body), body_family(donor)
    if family is not donor_family:
        raise ValueError(f"block swap needs one family: the receiver is {family.name}, the "
                         f"donor {donor_family.name}")
    if donor_family.width(donor) != family.width(body):
        raise ValueError(f"block swap needs equal widths: random body {family.width(body)}, "
                         f"donor {donor_family.width(donor)}")
    blocks, donor_blocks = family.body_blocks(body), family.body_blocks(donor)
    if not 0 <= block < min(len(blocks), len(donor_blocks)):
        raise ValueError(f"block {block} is outside the random body ({len(blocks)} blocks) "
                         f"or the donor ({len(donor_blocks)} blocks)")
    blocks[block] = donor_blocks[block]
    return body


def save_random_architecture(architecture_dir: str | os.PathLike, out: str | os.PathLike,
                             seed: int) -> None:
    """A `save_pretrained` directory at `out` of the architecture whose config.json is in
    the directory `architecture_dir` (any family with an adapter), with weights drawn at
    random under `seed`, and a marker saying loudly that they are not pre-trained."""
    import torch

    config_json = json.loads((Path(architecture_dir) / "config.json").read_text())
    family = architecture(config_json.get("model_type"))  # its own family's LM
    config = family.transformers_class(family.config_class).from_pretrained(architecture_dir)
    torch.manual_seed(seed)
    model = family.transformers_class(family.lm_class)(config)
    log.warning("%s: RANDOM weights of the %s architecture (%d layers, %d wide, %d heads), "
                "seed %d: NOT pre-trained", out, config.model_type, config.num_hidden_layers,
                config.hidden_size, config.num_attention_heads, seed)
    with atomic_directory(out) as tmp:
        model.save_pretrained(tmp)
        write_json({"architecture": os.fspath(architecture_dir), "seed": seed,
                    "weights": "RANDOM: drawn at initialisation, NOT pre-trained"},
                   tmp / RANDOM_WEIGHTS_MARKER)
