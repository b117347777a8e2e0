"""Per-sample gradients on the probe batch (paper Section 5.4, Appendix G).

As in the paper: the model after epoch 1, in train mode (dropout on), the loss of each
sample alone (masked action MSE), the gradient clipped the way training clips it
(`clip_grad_norm_` over all parameters, max norm 0.25), and then only the Transformer
blocks' gradients analysed:

- the norms of the first `norm_samples` (100) per-sample gradients (Fig. 6);
- the cosines between the first `cosine_samples` (50) of them; their minimum is the
  gradient confusion of Fig. 5;
- the norm per parameter set of the clipped gradient of the whole probe batch (Fig. 7, 18).

`method="vmap"` computes a chunk of per-sample gradients at once with torch.func;
`method="loop"` is the released code's loop (one backward per sample), kept as the oracle.
In train mode the two draw different dropout masks; in eval mode they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, grad, vmap
from tqdm import tqdm

from modality_rl.data.windows import WindowBatch
from modality_rl.models.decision_transformer import DecisionTransformer, block_parameter_sets
from modality_rl.probes.dump import GradientProbe
from modality_rl.training import batch_tensors, masked_action_mse

METHODS = ("vmap", "loop")
INPUTS = ("states", "actions", "returns_to_go", "timesteps", "mask")
BLOCKS_PREFIX = "transformer.h."


@dataclass(frozen=True, kw_only=True)
class GradientConfig:
    """config key `analysis.gradients`, less the experiment and epoch it probes."""
    max_norm: float | None  # None: no clipping
    norm_samples: int
    cosine_samples: int
    chunk_size: int  # per-sample gradients held at once by vmap
    seed: int  # dropout masks


def _loss(model: DecisionTransformer, t: dict[str, torch.Tensor]) -> torch.Tensor:
    predicted = model(t["states"], t["actions"], t["returns_to_go"], t["timesteps"],
                      attention_mask=t["mask"])
    return masked_action_mse(predicted, t["actions"], t["mask"])


def _clip_scale(squared_norm: torch.Tensor, max_norm: float | None) -> torch.Tensor:
    """clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6))."""
    if max_norm is None:
        return torch.ones_like(squared_norm)
    return torch.clamp(max_norm / (squared_norm.sqrt() + 1e-6), max=1.0)


def _sample_gradients_vmap(model: DecisionTransformer, t: dict[str, torch.Tensor],
                           max_norm: float | None) -> torch.Tensor:
    """(samples, block parameters): each sample's clipped gradient, blocks only."""
    trainable = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    frozen |= dict(model.named_buffers())

    def sample_loss(params, *sample):
        one = {key: value.unsqueeze(0) for key, value in zip(INPUTS, sample)}
        predicted = functional_call(model, (params, frozen), (
            one["states"], one["actions"], one["returns_to_go"], one["timesteps"]),
            {"attention_mask": one["mask"]})
        return masked_action_mse(predicted, one["actions"], one["mask"])

    grads = vmap(grad(sample_loss), in_dims=(None, *[0] * len(INPUTS)),
                 randomness="different")(trainable, *(t[key] for key in INPUTS))
    squared = sum(g.flatten(1).pow(2).sum(dim=1) for g in grads.values())
    scale = _clip_scale(squared, max_norm)
    blocks = [g.flatten(1) for n, g in grads.items() if n.startswith(BLOCKS_PREFIX)]
    return torch.cat(blocks, dim=1) * scale[:, None]


def _sample_gradients_loop(model: DecisionTransformer, t: dict[str, torch.Tensor],
                           max_norm: float | None) -> torch.Tensor:
    rows = []
    for i in range(len(t["mask"])):
        model.zero_grad()
        _loss(model, {key: value[i:i + 1] for key, value in t.items()}).backward()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        rows.append(torch.cat([p.grad.flatten() for p in block_parameter_sets(model).values()]))
    model.zero_grad()
    return torch.stack(rows)


def parameter_gradient_norms(model: DecisionTransformer, t: dict[str, torch.Tensor],
                             max_norm: float | None) -> dict[str, float]:
    """Norm per block parameter set of the clipped gradient of the whole batch's loss."""
    model.zero_grad()
    _loss(model, t).backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    norms = {name: float(p.grad.norm()) for name, p in block_parameter_sets(model).items()}
    model.zero_grad()
    return norms


def gradient_probe(model: DecisionTransformer, batch: WindowBatch, cfg: GradientConfig,
                   method: str = "vmap", device: torch.device | str = "cpu",
                   train_mode: bool = True) -> GradientProbe:
    """`train_mode` (dropout on) is the paper's setting; in eval mode vmap and loop agree."""
    if method not in METHODS:
        raise ValueError(f"unknown per-sample gradient method {method!r}; use one of {METHODS}")
    needed = max(cfg.norm_samples, cfg.cosine_samples)
    if needed > len(batch):
        raise ValueError(f"the probe batch has {len(batch)} samples; the gradient probe needs "
                         f"{needed} (analysis.gradients.norm_samples / cosine_samples)")
    model.train(train_mode)
    torch.manual_seed(cfg.seed)
    t = batch_tensors(batch, device)
    sample_gradients = _sample_gradients_vmap if method == "vmap" else _sample_gradients_loop
    norms, kept = [], []  # kept: the first cosine_samples gradients, for their cosines
    for start in tqdm(range(0, needed, cfg.chunk_size), desc=f"per-sample gradients ({method})",
                      mininterval=10):
        chunk = {key: value[start:start + cfg.chunk_size] for key, value in t.items()}
        gradients = sample_gradients(model, chunk, cfg.max_norm)
        norms.append(gradients.norm(dim=1))
        kept.append(gradients[:max(0, cfg.cosine_samples - start)])
    kept_gradients = torch.cat(kept)
    unit = kept_gradients / kept_gradients.norm(dim=1, keepdim=True)
    parameter_norms = parameter_gradient_norms(model, t, cfg.max_norm)
    return GradientProbe(
        sample_norms=torch.cat(norms)[:cfg.norm_samples].cpu().numpy(),
        cosines=(unit @ unit.T).cpu().numpy(),
        parameter_names=list(parameter_norms),
        parameter_norms=np.array(list(parameter_norms.values())),
    )
