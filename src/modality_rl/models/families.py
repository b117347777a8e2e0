"""contract: bodies. One adapter per architecture family, and everything that depends on
the family: nothing else in the library or the workflow names one.

A body's family comes from its config.json `model_type` (`family_of`), never from its
configured name; a backbone's `load_as` loads a checkpoint into another family's blocks
(the paper's iGPT: ImageGPT weights in GPT-2 blocks, the default for `imagegpt`). An
adapter says:

- how to build the body: its config and base-model classes, its causal-LM class (for
  pre-training and for random weights saved as a checkpoint), a random body's config;
- its shape: width, blocks and heads from a config, its blocks' parameter count (for
  the memory budgets, from config.json alone), where its blocks sit in the model;
- what the Decision Transformer changes: the token embedding is always replaced by a
  frozen zero row (the DT feeds embeddings, not token ids); a learned absolute position
  embedding is zeroed and frozen, as the released code did; a rotary family has none to
  zero, so its rotary phases still encode each token's place in the window
  (docs/adding-a-body.md, "Rotary families and the Decision Transformer");
- what the probes hook: each block's modules in forward order (the paper's nine for
  GPT-2), the one whose output is the "block output", and the modules whose outputs give
  the released code's pseudo single-head attention (all heads' queries against all
  heads' keys);
- what loading may leave out on purpose: keys of language-model heads, and (ImageGPT in
  GPT-2 blocks) the LayerNorm biases ImageGPT does not have, which stay zero.

Importing this module imports neither torch nor transformers: planning reads shapes and
names from config.json dictionaries.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar


class Family:
    """The GPT-2 family's adapter (gpt2, distilgpt2, gpt2-medium, ...); the others
    override what differs."""

    name: ClassVar[str] = "gpt2"
    model_types: ClassVar[tuple[str, ...]] = ("gpt2",)
    config_class: ClassVar[str] = "GPT2Config"
    model_class: ClassVar[str] = "GPT2Model"
    lm_class: ClassVar[str] = "GPT2LMHeadModel"
    blocks: ClassVar[str] = "h"  # the body's attribute holding its blocks
    position_embedding: ClassVar[str | None] = "wpe"  # learned, absolute; None: rotary
    # config.json keys of the shape (HF's attribute_map aliases them on config objects).
    keys: ClassVar[dict[str, str]] = {"n_layer": "n_layer", "n_embd": "n_embd",
                                      "n_head": "n_head", "activation": "activation_function"}
    default_activation: ClassVar[str] = "gelu_new"  # its config class's default
    hooked: ClassVar[tuple[str, ...]] = (
        "ln_1", "attn.c_attn", "attn.c_proj", "attn.resid_dropout", "ln_2", "mlp.c_fc",
        "mlp.c_proj", "mlp.act", "mlp.dropout")
    block_output: ClassVar[str] = "mlp.dropout"
    queries_keys: ClassVar[tuple[str, ...]] = ("attn.c_attn",)
    head_keys: ClassVar[tuple[str, ...]] = ("lm_head.",)
    # Weights of the body a checkpoint loaded by this adapter lacks on purpose (they keep
    # their initial values).
    missing_on_purpose: ClassVar[tuple[str, ...]] = ()
    positions_key: ClassVar[str] = "n_positions"  # its config's sequence-length key
    inner_key: ClassVar[str] = "n_inner"  # its config's MLP-width key
    # Token ids a body fed embeddings has no use for (set to None).
    special_tokens: ClassVar[tuple[str, ...]] = ("bos_token_id", "eos_token_id")

    # -- shape, from a config.json dictionary (planning) or a config object -------------
    @classmethod
    def size(cls, config: dict, what: str) -> int:
        return int(config[cls.keys[what]])

    @classmethod
    def inner(cls, config: dict) -> int:
        """The MLP's hidden width (4 x the width where its config leaves it unset)."""
        return config.get(cls.inner_key) or 4 * cls.size(config, "n_embd")

    @classmethod
    def block_parameters(cls, config: dict) -> int:
        """Parameters of one block: attention 4 d^2 + 4 d, MLP 2 d i + i + d, norms 4 d
        (12 d^2 + 13 d for the usual i = 4 d)."""
        d, i = cls.size(config, "n_embd"), cls.inner(config)
        return 4 * d * d + 4 * d + 2 * d * i + i + d + 4 * d

    @classmethod
    def hooked_width(cls, config: dict) -> int:
        """The summed widths of the hooked modules' outputs (what a `layers` dump holds
        per token per block): seven d wide, the MLP's two i wide (17 d for GPT-2)."""
        d, i = cls.size(config, "n_embd"), cls.inner(config)
        return 9 * d + 2 * i

    @classmethod
    def shape_config(cls, *, n_layer: int, n_embd: int, n_head: int,
                     activation: str | None = None, **extra: Any) -> dict:
        """config.json keys of a body of these sizes."""
        config = {cls.keys["n_layer"]: n_layer, cls.keys["n_embd"]: n_embd,
                  cls.keys["n_head"]: n_head, **extra}
        if activation is not None:
            config[cls.keys["activation"]] = activation
        return config

    # -- building ---------------------------------------------------------------------
    @classmethod
    def transformers_class(cls, name: str):
        return getattr(importlib.import_module("transformers"), name)

    @classmethod
    def base_config(cls, vocabulary: int, positions: int) -> dict:
        return {"vocab_size": vocabulary, cls.positions_key: positions,
                **{token: None for token in cls.special_tokens}}

    @classmethod
    def random_body_config(cls, sizes: dict, dropout, attn_implementation: str):
        """The config of a randomly initialised body of these sizes (a RandomBodyConfig's
        fields) with the run's dropout: a one-token vocabulary (the DT feeds embeddings)
        and 1024 positions."""
        extra = dict(sizes.get("config") or {})
        config = cls.shape_config(n_layer=sizes["n_layer"], n_embd=sizes["n_embd"],
                                  n_head=sizes["n_head"], activation=sizes.get("activation"),
                                  **{**cls.base_config(1, 1024), **cls.random_defaults(sizes),
                                     **extra})
        config = cls.transformers_class(cls.config_class)(
            **config, attn_implementation=attn_implementation)
        cls.configure(config, dropout)
        return config

    @classmethod
    def lm_config(cls, vocabulary: int, positions: int, **sizes: int):
        """The config of a causal LM of these sizes, for the pipeline's own pre-training."""
        return cls.transformers_class(cls.config_class)(**cls.shape_config(
            **sizes, **cls.base_config(vocabulary, positions), **cls.lm_defaults(sizes)))

    @classmethod
    def random_defaults(cls, sizes: dict) -> dict:
        """Config keys of a random body that its config class would set otherwise (an MLP
        4 d wide)."""
        return {"n_inner": 4 * sizes["n_embd"]}

    @classmethod
    def lm_defaults(cls, sizes: dict) -> dict:
        """The same, for a pre-trained LM: GPT-2's config class defaults to 4 d already."""
        return {}

    @classmethod
    def configure(cls, config, dropout) -> None:
        """The run's dropout (config key training.dropout) in this family's config keys,
        and whatever else the family's body needs in a Decision Transformer."""
        config.embd_pdrop, config.attn_pdrop = dropout.embedding, dropout.attention
        config.resid_pdrop = dropout.residual

    @classmethod
    def body_blocks(cls, body):
        return getattr(body, cls.blocks)

    @classmethod
    def blocks_prefix(cls) -> str:
        """Where the blocks' parameters sit in a Decision Transformer's state dict."""
        return f"transformer.{cls.blocks}."

    @classmethod
    def width(cls, body) -> int:
        return body.config.hidden_size

    @classmethod
    def heads(cls, body) -> int:
        return body.config.num_attention_heads

    @classmethod
    def drop_position_embedding(cls, body) -> None:
        """Zero and freeze a learned absolute position embedding (the time embedding is
        the DT's position signal); a rotary family has none."""
        if cls.position_embedding is None:
            return
        import torch

        embedding = getattr(body, cls.position_embedding)
        with torch.no_grad():
            embedding.weight.zero_()
        embedding.weight.requires_grad_(False)

    # -- probes -----------------------------------------------------------------------
    @classmethod
    def split_queries_keys(cls, outputs: dict, body):
        """(N, T, d) queries and keys of all heads from the `queries_keys` outputs."""
        d = cls.width(body)
        fused = outputs["attn.c_attn"]
        return fused[..., :d], fused[..., d:2 * d]



class ImageGPTInGPT2(Family):
    """ImageGPT loaded into GPT-2 blocks, as the paper's code did (its "iGPT"): GPT2Config
    reads ImageGPT's config.json (24 x 512, 8 heads, quick_gelu) and ImageGPT's norms load
    as LayerNorms whose missing biases stay zero."""

    name = "imagegpt"  # the checkpoint's family; the body is GPT-2's
    model_types = ("imagegpt",)
    default_activation = "quick_gelu"
    missing_on_purpose = ("ln_1.bias", "ln_2.bias", "ln_f.bias")


class ImageGPT(Family):
    """ImageGPT as it is, with its own non-centring, bias-free norm (`load_as: imagegpt`)."""

    name = "imagegpt"
    model_types = ("imagegpt",)
    default_activation = "quick_gelu"
    config_class, model_class = "ImageGPTConfig", "ImageGPTModel"
    lm_class = "ImageGPTForCausalImageModeling"
    special_tokens = ()

    @classmethod
    def block_parameters(cls, config):
        return super().block_parameters(config) - 2 * cls.size(config, "n_embd")

    @classmethod
    def configure(cls, config, dropout):
        """Also `is_decoder`: without it transformers 5 builds ImageGPT a bidirectional
        padding mask whose data-dependent check vmap (the gradient probe) cannot run. Its
        attention is causal by its own buffer either way; only padded rows' outputs,
        which no loss reads, differ."""
        super().configure(config, dropout)
        config.is_decoder = True


class GPTNeo(Family):
    """GPT-Neo: separate q, k, v projections without bias; learned absolute positions.
    (A body of it alternates global and local attention per its `attention_types`.)"""

    name = "gpt_neo"
    model_types = ("gpt_neo",)
    config_class, model_class, lm_class = "GPTNeoConfig", "GPTNeoModel", "GPTNeoForCausalLM"
    keys = {"n_layer": "num_layers", "n_embd": "hidden_size", "n_head": "num_heads",
            "activation": "activation_function"}
    hooked = ("ln_1", "attn.attention.q_proj", "attn.attention.k_proj",
              "attn.attention.v_proj", "attn.attention.out_proj",
              "attn.attention.resid_dropout", "ln_2", "mlp.c_fc", "mlp.act", "mlp.c_proj",
              "mlp.dropout")
    queries_keys = ("attn.attention.q_proj", "attn.attention.k_proj")
    positions_key, inner_key = "max_position_embeddings", "intermediate_size"

    @classmethod
    def random_defaults(cls, sizes):
        return {"intermediate_size": 4 * sizes["n_embd"],
                "attention_types": [[["global"], sizes["n_layer"]]]}

    lm_defaults = random_defaults

    @classmethod
    def block_parameters(cls, config):
        d, i = cls.size(config, "n_embd"), cls.inner(config)
        return 4 * d * d + d + 2 * d * i + i + d + 4 * d

    @classmethod
    def configure(cls, config, dropout):
        config.embed_dropout, config.attention_dropout = dropout.embedding, dropout.attention
        config.resid_dropout = dropout.residual

    @classmethod
    def split_queries_keys(cls, outputs, body):
        return outputs["attn.attention.q_proj"], outputs["attn.attention.k_proj"]


class GPTNeoX(Family):
    """GPT-NeoX (Pythia): fused per-head query_key_value, rotary positions, parallel
    residual."""

    name = "gpt_neox"
    model_types = ("gpt_neox",)
    config_class, model_class, lm_class = "GPTNeoXConfig", "GPTNeoXModel", "GPTNeoXForCausalLM"
    blocks, position_embedding = "layers", None
    keys = {"n_layer": "num_hidden_layers", "n_embd": "hidden_size",
            "n_head": "num_attention_heads", "activation": "hidden_act"}
    default_activation = "gelu"
    hooked = ("input_layernorm", "attention.query_key_value", "attention.dense",
              "post_attention_dropout", "post_attention_layernorm", "mlp.dense_h_to_4h",
              "mlp.act", "mlp.dense_4h_to_h", "post_mlp_dropout")
    block_output = "post_mlp_dropout"
    queries_keys = ("attention.query_key_value",)
    head_keys = ("embed_out.",)
    positions_key, inner_key = "max_position_embeddings", "intermediate_size"

    @classmethod
    def random_defaults(cls, sizes):
        return {"intermediate_size": 4 * sizes["n_embd"]}

    lm_defaults = random_defaults

    @classmethod
    def configure(cls, config, dropout):
        config.attention_dropout, config.hidden_dropout = dropout.attention, dropout.residual

    @classmethod
    def split_queries_keys(cls, outputs, body):
        """query_key_value is laid out per head: (N, T, heads, 3 x head width)."""
        fused = outputs["attention.query_key_value"]
        heads = cls.heads(body)
        per_head = fused.reshape(*fused.shape[:-1], heads, 3, -1)
        return per_head[..., 0, :].flatten(-2), per_head[..., 1, :].flatten(-2)


class Llama(Family):
    """Llama and its kin (SmolLM, TinyLlama; Qwen2 below): rotary positions, RMSNorm,
    gated MLP, grouped key-value heads (the keys are repeated to every query head for the
    pseudo-attention)."""

    name = "llama"
    model_types = ("llama",)
    config_class, model_class, lm_class = "LlamaConfig", "LlamaModel", "LlamaForCausalLM"
    blocks, position_embedding = "layers", None
    keys = {"n_layer": "num_hidden_layers", "n_embd": "hidden_size",
            "n_head": "num_attention_heads", "activation": "hidden_act"}
    default_activation = "silu"
    hooked = ("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
              "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
              "mlp.act_fn", "mlp.down_proj")
    block_output = "mlp.down_proj"
    queries_keys = ("self_attn.q_proj", "self_attn.k_proj")
    positions_key, inner_key = "max_position_embeddings", "intermediate_size"
    special_tokens = ("bos_token_id", "eos_token_id", "pad_token_id")

    @classmethod
    def key_value_width(cls, config: dict) -> int:
        d, heads = cls.size(config, "n_embd"), cls.size(config, "n_head")
        kv_heads = config.get("num_key_value_heads") or heads
        return kv_heads * (config.get("head_dim") or d // heads)

    @classmethod
    def random_defaults(cls, sizes):
        return {"intermediate_size": 4 * sizes["n_embd"]}

    lm_defaults = random_defaults

    @classmethod
    def block_parameters(cls, config):
        d, i, kv = cls.size(config, "n_embd"), cls.inner(config), cls.key_value_width(config)
        biases = (d + 2 * kv) if (config.get("attention_bias")
                                  or config.get("model_type") == "qwen2") else 0
        return 2 * d * d + 2 * d * kv + biases + 3 * d * i + 2 * d

    @classmethod
    def hooked_width(cls, config):
        d, i, kv = cls.size(config, "n_embd"), cls.inner(config), cls.key_value_width(config)
        return 5 * d + 2 * kv + 3 * i

    @classmethod
    def configure(cls, config, dropout):
        """Llama-style decoders have attention dropout only (no residual or embedding
        dropout): `training.dropout.attention` applies, the others do not."""
        config.attention_dropout = dropout.attention

    @classmethod
    def split_queries_keys(cls, outputs, body):
        query, key = outputs["self_attn.q_proj"], outputs["self_attn.k_proj"]
        repeat = query.shape[-1] // key.shape[-1]
        heads = cls.heads(body)
        key = key.reshape(*key.shape[:-1], heads // repeat, -1)
        return query, key.repeat_interleave(repeat, dim=-2).flatten(-2)


class Qwen2(Llama):
    """Qwen2: Llama's layout with biased q, k, v projections."""

    model_types = ("qwen2",)
    config_class, model_class, lm_class = "Qwen2Config", "Qwen2Model", "Qwen2ForCausalLM"


# The adapter of each model_type, and of each `load_as`.
FAMILIES: dict[str, type[Family]] = {
    "gpt2": Family, "imagegpt": ImageGPTInGPT2, "gpt_neo": GPTNeo, "gpt_neox": GPTNeoX,
    "llama": Llama, "qwen2": Qwen2}
# What `load_as` may name: a family whose blocks take another family's checkpoint.
LOAD_AS: dict[str, type[Family]] = {"gpt2": Family, "imagegpt": ImageGPT}
# `source: random` and `source: pretrain` bodies name their family as `architecture`.
ARCHITECTURES: dict[str, type[Family]] = {"gpt2": Family, "imagegpt": ImageGPT,
                                          "gpt_neo": GPTNeo, "gpt_neox": GPTNeoX,
                                          "llama": Llama, "qwen2": Qwen2}
# The adapter of a built body, by its base-model class.
BODY_CLASSES: dict[str, type[Family]] = {family.model_class: family for family in (
    Family, ImageGPT, GPTNeo, GPTNeoX, Llama, Qwen2)}


class UnsupportedFamilyError(ValueError):
    """A body of a model_type no adapter reads."""


def family_of(model_type: str | None, load_as: str | None = None) -> type[Family]:
    """The adapter for a checkpoint of `model_type` (config.json), loaded as `load_as`
    (None: its own family's way, the paper's for ImageGPT: into GPT-2 blocks)."""
    if model_type not in FAMILIES:
        raise UnsupportedFamilyError(
            f"model_type {model_type!r} has no adapter; supported: {sorted(FAMILIES)} "
            "(modality_rl/models/families.py adds one)")
    if load_as is None:
        return FAMILIES[model_type]
    if load_as not in LOAD_AS:
        raise UnsupportedFamilyError(f"load_as {load_as!r} is not one of {sorted(LOAD_AS)}")
    return LOAD_AS[load_as]


def architecture(name: str) -> type[Family]:
    """The adapter of a random or pipeline-pre-trained body's `architecture`."""
    if name not in ARCHITECTURES:
        raise UnsupportedFamilyError(f"architecture {name!r} is not one of "
                                     f"{sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def body_family(body) -> type[Family]:
    """The adapter of a built body, by its base-model class (ImageGPT loaded into GPT-2
    blocks is a GPT2Model: GPT-2's adapter)."""
    try:
        return BODY_CLASSES[type(body).__name__]
    except KeyError:
        raise UnsupportedFamilyError(f"no adapter for a {type(body).__name__} body; "
                                     f"adapters: {sorted(BODY_CLASSES)}") from None


def state_dict_blocks_prefix(keys) -> str:
    """Where the blocks' weights sit in a Decision Transformer's state dict, whatever its
    family ("transformer.h." for GPT-2's, "transformer.layers." for rotary families')."""
    prefixes = sorted({family.blocks_prefix() for family in BODY_CLASSES.values()})
    found = [prefix for prefix in prefixes if any(key.startswith(prefix) for key in keys)]
    if len(found) != 1:
        raise ValueError(f"a Decision Transformer's blocks are under one of {prefixes}; "
                         f"this state dict has {found or 'none'}")
    return found[0]
