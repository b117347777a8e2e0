"""Activations and attention of a Decision Transformer on the probe batch (eval mode).

For every block, nine modules are hooked (the paper's Appendix D.1 names, Listing 3):
their outputs at the last step's return, state and action tokens are what CKA compares.
The output of `mlp.dropout` at every token position is kept too: the paper calls it the
block output and estimates mutual information on it (Appendix E.1). Attention
probabilities per block and head come from eager attention.
"""

from __future__ import annotations

import math

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


@torch.no_grad()
def record_activations(model: DecisionTransformer, batch: WindowBatch,
                       device: torch.device | str = "cpu") -> ProbeActivations:
    """Run the probe batch through `model` in eval mode and collect what the probes need."""
    model.eval()
    blocks = model.transformer.h
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_module, _inputs, output):
            captured[name] = output.detach()
        return hook

    handles = [blocks[b].get_submodule(layer).register_forward_hook(keep(f"{b}.{layer}"))
               for b in range(len(blocks)) for layer in HOOKED_LAYERS]
    try:
        t = batch_tensors(batch, device)
        _, attentions = model(t["states"], t["actions"], t["returns_to_go"], t["timesteps"],
                              attention_mask=t["mask"], output_attentions=True)
    finally:
        for handle in handles:
            handle.remove()
    if not attentions or attentions[0] is None:
        raise RuntimeError("the model returned no attention maps: build it with "
                           "attn_implementation='eager' (SDPA returns none)")
    width = model.hidden_size
    return ProbeActivations(
        layers={name: captured[name][:, -3:].cpu().numpy() for name in layer_names(len(blocks))},
        block_outputs=[captured[f"{b}.{BLOCK_OUTPUT_LAYER}"].cpu().numpy()
                       for b in range(len(blocks))],
        attentions=[a.cpu().numpy() for a in attentions],
        pseudo_attentions=[pseudo_single_head_attention(captured[f"{b}.attn.c_attn"], width)
                           .cpu().numpy() for b in range(len(blocks))],
    )
