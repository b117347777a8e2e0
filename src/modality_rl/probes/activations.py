"""Activations and attention of a Decision Transformer on the probe batch (eval mode).

Every block's hooked modules (its family's: the paper's Appendix D.1 nine for GPT-2,
Listing 3, modality_rl.models.families for the others) are recorded at the last step's
return, state and action tokens: what CKA compares. The output of the block-output module
(GPT-2's `mlp.dropout`, which the paper calls the block output, Appendix E.1) is kept at
every token position too, for mutual information. Attention probabilities per block and
head come from eager attention; the released code's pseudo single-head attention is
computed from the queries and keys of all heads.

Only the sections asked for are recorded (analyses.probe_sections), and the hooks keep
no module output alive beyond what is recorded: a copy of the last step's three tokens
(not a view, which would hold the whole (N, 3K, width) output), the block output when
block outputs are asked for, and the pseudo single-head attention computed as soon as a
block's queries and keys are out. At GPT-2's shape the nine outputs of a block take
310 MB; holding them all took 3.7 GB (5 GB for iGPT).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import torch

from modality_rl.data.windows import WindowBatch
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.models.families import Family
from modality_rl.probes.dump import ProbeActivations
from modality_rl.training import batch_tensors

# The paper's nine (GPT-2's): what a GPT-2 dump's layer names are made of.
HOOKED_LAYERS = Family.hooked


def layer_names(n_blocks: int, hooked: tuple[str, ...] = HOOKED_LAYERS) -> list[str]:
    """'0.ln_1', '0.attn.c_attn', ... in forward order: 108 for 12 GPT-2 blocks, 216 for 24."""
    return [f"{block}.{layer}" for block in range(n_blocks) for layer in hooked]


def pseudo_single_head_attention(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """(N, T, width) queries and keys of all heads -> the released code's (N, T, T)
    attention: all heads as one head, the causal mask applied after the softmax
    (metrics.attention_distance, method "original")."""
    scores = query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1])
    return torch.tril(torch.softmax(scores, dim=-1))


ACTIVATION_SECTIONS = ("layers", "block_outputs", "attention", "pseudo_attention")


def hooked_modules(family: type[Family], sections: Collection[str]) -> list[str]:
    """The block's modules to hook for `sections`: all of them for `layers`, and the
    block output's and the queries' and keys' for the sections that read those."""
    wanted = set(family.hooked) if "layers" in sections else set()
    if "block_outputs" in sections:
        wanted.add(family.block_output)
    if "pseudo_attention" in sections:
        wanted.update(family.queries_keys)
    ordered = (*family.hooked, family.block_output, *family.queries_keys)
    return [module for module in dict.fromkeys(ordered) if module in wanted]


def _copy(tensor: torch.Tensor):
    """A numpy copy that shares no memory with `tensor` (on CPU, .cpu().numpy() would)."""
    return tensor.detach().to("cpu", copy=True).numpy()


@torch.no_grad()
def record_activations(model: DecisionTransformer, batch: WindowBatch,
                       sections: Collection[str] = ACTIVATION_SECTIONS,
                       device: torch.device | str = "cpu") -> ProbeActivations:
    """Run the probe batch through `model` in eval mode and record the `sections` (of
    ACTIVATION_SECTIONS); with none, the model is not run."""
    unknown = sorted(set(sections) - set(ACTIVATION_SECTIONS))
    if unknown:
        raise ValueError(f"unknown activation section(s) {unknown}; use {ACTIVATION_SECTIONS}")
    model.eval()
    family, blocks = model.family, model.blocks
    width = model.hidden_size
    names = layer_names(len(blocks), family.hooked)
    recorded = ProbeActivations(n_blocks=len(blocks), width=width, layer_names=names)
    if not sections:
        return recorded
    layers, block_outputs, pseudo, queries_keys = {}, {}, {}, {}

    def hook(block: int, layer: str):
        def record(_module, _inputs, output):  # output: (N, 3K, module width)
            if "layers" in sections and layer in family.hooked:
                layers[f"{block}.{layer}"] = _copy(output[:, -3:])
            if layer == family.block_output and "block_outputs" in sections:
                block_outputs[block] = _copy(output)
            if layer in family.queries_keys and "pseudo_attention" in sections:
                outputs = queries_keys.setdefault(block, {})
                outputs[layer] = output.detach()
                if len(outputs) == len(family.queries_keys):
                    query, key = family.split_queries_keys(queries_keys.pop(block),
                                                           model.transformer)
                    pseudo[block] = _copy(pseudo_single_head_attention(query, key))
        return record

    hooked = hooked_modules(family, sections)
    handles = [blocks[b].get_submodule(layer).register_forward_hook(hook(b, layer))
               for b in range(len(blocks)) for layer in hooked]
    try:
        t = batch_tensors(batch, device)
        output = model(t["states"], t["actions"], t["returns_to_go"], t["timesteps"],
                       attention_mask=t["mask"], output_attentions="attention" in sections)
    finally:
        for handle in handles:
            handle.remove()
    if "attention" in sections:
        _, attentions = output
        if not attentions or attentions[0] is None:
            raise RuntimeError("the model returned no attention maps: build it with "
                               "attn_implementation='eager' (SDPA returns none)")
        recorded.attention = [_copy(a) for a in attentions]
    if "layers" in sections:
        recorded.layers = {name: layers[name] for name in names}
    if "block_outputs" in sections:
        recorded.block_outputs = [block_outputs[b] for b in range(len(blocks))]
    if "pseudo_attention" in sections:
        recorded.pseudo_attention = [pseudo[b] for b in range(len(blocks))]
    return recorded
