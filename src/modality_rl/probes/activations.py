"""Activations and attention of a Decision Transformer on the probe batch (eval mode).

For every block, nine modules are hooked (the paper's Appendix D.1 names, Listing 3):
their outputs at the last step's return, state and action tokens are what CKA compares.
The output of `mlp.dropout` at every token position is kept too: the paper calls it the
block output and estimates mutual information on it (Appendix E.1). Attention
probabilities per block and head come from eager attention.

Only the sections asked for are recorded (analyses.probe_sections), and the hooks keep
no module output alive beyond what is recorded: a copy of the last step's three tokens
(not a view, which would hold the whole (N, 3K, width) output), the block output when
block outputs are asked for, and the pseudo single-head attention computed in the
c_attn hook. At GPT-2's shape the nine outputs of a block take 310 MB; holding them all
took 3.7 GB (5 GB for iGPT).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import torch

from modality_rl.data.windows import WindowBatch
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.probes.dump import ProbeActivations
from modality_rl.training import batch_tensors

HOOKED_LAYERS = ("ln_1", "attn.c_attn", "attn.c_proj", "attn.resid_dropout", "ln_2",
                 "mlp.c_fc", "mlp.c_proj", "mlp.act", "mlp.dropout")
BLOCK_OUTPUT_LAYER = "mlp.dropout"


def layer_names(n_blocks: int) -> list[str]:
    """'0.ln_1', '0.attn.c_attn', ... in forward order: 108 for 12 blocks, 216 for 24."""
    return [f"{block}.{layer}" for block in range(n_blocks) for layer in HOOKED_LAYERS]


def pseudo_single_head_attention(c_attn_output: torch.Tensor, width: int) -> torch.Tensor:
    """(N, T, 3*width) output of attn.c_attn -> the released code's (N, T, T) attention:
    all heads' queries against all heads' keys as one head, the causal mask applied after
    the softmax (metrics.attention_distance, method "original")."""
    query, key = c_attn_output[..., :width], c_attn_output[..., width:2 * width]
    scores = query @ key.transpose(-1, -2) / math.sqrt(width)
    return torch.tril(torch.softmax(scores, dim=-1))


ACTIVATION_SECTIONS = ("layers", "block_outputs", "attention", "pseudo_attention")
# Modules hooked for a section other than `layers`.
ALSO_HOOKED_FOR = {BLOCK_OUTPUT_LAYER: "block_outputs", "attn.c_attn": "pseudo_attention"}


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
    blocks = model.transformer.h
    width = model.hidden_size
    names = layer_names(len(blocks))
    recorded = ProbeActivations(n_blocks=len(blocks), width=width, layer_names=names)
    if not sections:
        return recorded
    layers, block_outputs, pseudo = {}, {}, {}

    def hook(block: int, layer: str):
        def record(_module, _inputs, output):  # output: (N, 3K, module width)
            if "layers" in sections:
                layers[f"{block}.{layer}"] = _copy(output[:, -3:])
            if layer == BLOCK_OUTPUT_LAYER and "block_outputs" in sections:
                block_outputs[block] = _copy(output)
            if layer == "attn.c_attn" and "pseudo_attention" in sections:
                pseudo[block] = _copy(pseudo_single_head_attention(output, width))
        return record

    hooked = [layer for layer in HOOKED_LAYERS
              if "layers" in sections or ALSO_HOOKED_FOR.get(layer) in sections]
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
