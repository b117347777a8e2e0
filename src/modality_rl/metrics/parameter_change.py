"""How far fine-tuning moved each parameter set (paper Section 5.3, Appendix F)."""

from __future__ import annotations

import torch

from modality_rl.models.families import state_dict_blocks_prefix


def block_parameters(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The Transformer blocks' parameters of a checkpoint, by the paper's Listing 3 names
    ('0.ln_1.weight', ...; each family's own), in checkpoint order."""
    prefix = state_dict_blocks_prefix(state_dict)
    return {name[len(prefix):]: tensor for name, tensor in state_dict.items()
            if name.startswith(prefix)}


def parameter_change(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]
                     ) -> dict[str, tuple[float, float]]:
    """Per parameter set: (L2 distance, cosine similarity) between two checkpoints'
    flattened weights."""
    if before.keys() != after.keys():
        raise ValueError("the checkpoints hold different parameter sets: "
                         f"{sorted(before.keys() ^ after.keys())[:5]}")
    change = {}
    for name, b in before.items():
        b, a = b.flatten().double(), after[name].flatten().double()
        change[name] = (float((a - b).norm()),
                        float(torch.nn.functional.cosine_similarity(a, b, dim=0)))
    return change
