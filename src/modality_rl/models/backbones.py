"""GPT bodies for the Decision Transformer: random, gpt2, igpt, igpt_native, block swap.

- random: GPT-2 architecture with Hugging Face initialisation; Table 3 sizes
  (12 layers, 768 wide, 1 head, ReLU).
- gpt2: GPT-2 weights, 12 heads, gelu_new.
- igpt: ImageGPT weights loaded into GPT-2 blocks, as the paper's code did. ImageGPT's
  norm has no bias and does not centre; in GPT-2 blocks it becomes a standard LayerNorm
  whose bias starts at zero. This is the paper's "iGPT" and the default.
- igpt_native: ImageGPT as it is, with its own norm: an ablation.
- block swap: a random body whose block b is gpt2's block b, the whole module (its 12
  heads and gelu_new included), as the released block-replacement code swapped it. The
  released code's "block 0" run was a full GPT-2 run; here b = 0 swaps block 0 only.

Pre-trained weights come from the Hugging Face hub or its cache (a hub id and a pinned
revision) or from a local `save_pretrained` directory; both go through `from_pretrained`.
Offline, `save_random_architecture` writes such a directory for the real architecture
(its config.json) with RANDOM weights, marked so that every job loading it says so: the
paper's shapes (presets/paper_shapes.yaml) without the paper's weights.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from modality_rl.io import atomic_directory, write_json

log = logging.getLogger(__name__)

PRETRAINED_KINDS = ("gpt2", "igpt", "igpt_native")
# Beside the weights of a body that has the real architecture but random weights.
RANDOM_WEIGHTS_MARKER = "RANDOM_WEIGHTS.json"


@dataclass(frozen=True, kw_only=True)
class Dropout:
    """config key `training.dropout`."""
    embedding: float
    attention: float
    residual: float  # GPT-2 applies it to the residual and the MLP output


@dataclass(frozen=True, kw_only=True)
class RandomBodyConfig:
    """config key `backbones.random` (Table 3: 12 x 768, 1 head, ReLU)."""
    n_layer: int
    n_embd: int
    n_head: int
    activation: str


class BackboneUnavailableError(RuntimeError):
    """Pre-trained weights could not be found locally, in the cache or on the hub."""


def random_body(cfg: RandomBodyConfig, dropout: Dropout, attn_implementation: str = "eager"):
    from transformers import GPT2Config, GPT2Model

    config = GPT2Config(vocab_size=1, n_positions=1024, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
                        n_head=cfg.n_head, n_inner=4 * cfg.n_embd,
                        activation_function=cfg.activation, embd_pdrop=dropout.embedding,
                        attn_pdrop=dropout.attention, resid_pdrop=dropout.residual,
                        bos_token_id=None, eos_token_id=None,
                        attn_implementation=attn_implementation)
    return GPT2Model(config)


def pretrained_body(kind: str, name_or_path: str | os.PathLike, dropout: Dropout, *,
                    revision: str | None = None, attn_implementation: str = "eager"):
    """Load a pre-trained body; `name_or_path` is a hub id or a save_pretrained directory."""
    from transformers import GPT2Config, GPT2Model, ImageGPTConfig, ImageGPTModel

    if kind not in PRETRAINED_KINDS:
        raise ValueError(f"unknown pre-trained backbone {kind!r}; use one of {PRETRAINED_KINDS}")
    config_class, model_class = ((ImageGPTConfig, ImageGPTModel) if kind == "igpt_native"
                                 else (GPT2Config, GPT2Model))
    name_or_path = os.fspath(name_or_path)
    if (Path(name_or_path) / RANDOM_WEIGHTS_MARKER).exists():
        log.warning("the %s body in %s has RANDOM weights, not pre-trained ones: only its "
                    "architecture is the real one (backbones source: architecture)", kind,
                    name_or_path)
    try:
        # For igpt, GPT2Config reads ImageGPT's config.json: 24 layers, 512 wide, 8 heads,
        # quick_gelu; the checkpoint's norm weights load and the missing biases stay 0.
        config = config_class.from_pretrained(name_or_path, revision=revision)
        config.embd_pdrop, config.attn_pdrop = dropout.embedding, dropout.attention
        config.resid_pdrop = dropout.residual
        return model_class.from_pretrained(name_or_path, config=config, revision=revision,
                                           attn_implementation=attn_implementation)
    except OSError as err:
        raise BackboneUnavailableError(
            f"cannot load the {kind} backbone from {name_or_path!r} (revision {revision}): "
            f"{str(err).splitlines()[0]} Provide it in one of three ways: on a machine with "
            f"network, `huggingface-cli download {name_or_path} --revision {revision}` and copy "
            "the Hugging Face cache (HF_HOME) here; or save_pretrained it into a directory and "
            f"set backbones.{'igpt' if kind == 'igpt_native' else kind}: {{source: local, "
            "name: <directory>}; or set source: pretrain to use the tiny models the pipeline "
            "pre-trains offline (as presets/quick.yaml does).") from err


def block_swap_body(cfg: RandomBodyConfig, donor: nn.Module, block: int, dropout: Dropout,
                    attn_implementation: str = "eager"):
    """A random body whose block `block` is the donor's block `block` (module and weights)."""
    body = random_body(cfg, dropout, attn_implementation)
    if donor.config.n_embd != cfg.n_embd:
        raise ValueError(f"block swap needs equal widths: random body {cfg.n_embd}, "
                         f"donor {donor.config.n_embd}")
    if not 0 <= block < min(len(body.h), len(donor.h)):
        raise ValueError(f"block {block} is outside the random body ({len(body.h)} blocks) "
                         f"or the donor ({len(donor.h)} blocks)")
    body.h[block] = donor.h[block]
    return body


def save_random_architecture(architecture: str | os.PathLike, out: str | os.PathLike,
                             seed: int) -> None:
    """A `save_pretrained` directory at `out` of the architecture whose config.json is in
    the directory `architecture` (GPT-2 or ImageGPT), with weights drawn at random under
    `seed`, and a marker saying loudly that they are not pre-trained."""
    import torch
    from transformers import AutoConfig, GPT2LMHeadModel, ImageGPTForCausalImageModeling

    config = AutoConfig.from_pretrained(architecture)
    models = {"gpt2": GPT2LMHeadModel, "imagegpt": ImageGPTForCausalImageModeling}
    if config.model_type not in models:
        raise ValueError(f"{architecture}: model_type {config.model_type!r} is not one of "
                         f"{sorted(models)}")
    torch.manual_seed(seed)
    model = models[config.model_type](config)
    log.warning("%s: RANDOM weights of the %s architecture (%d layers, %d wide, %d heads), "
                "seed %d: NOT pre-trained", out, config.model_type, config.n_layer,
                config.n_embd, config.n_head, seed)
    with atomic_directory(out) as tmp:
        model.save_pretrained(tmp)
        write_json({"architecture": os.fspath(architecture), "seed": seed,
                    "weights": "RANDOM: drawn at initialisation, NOT pre-trained"},
                   tmp / RANDOM_WEIGHTS_MARKER)
