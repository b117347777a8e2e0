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

Memory. One sample's block gradient is 85 M numbers at GPT-2's shape (340 MB); holding
the 50 cosine samples' gradients, with two copies, took 51 GB. The probe runs in two
passes instead, and never holds more than one chunk's gradients or `memory_mb`:

1. norms: chunk by chunk (`chunk_size` samples at once), the clipped block gradients
   are formed, normed as before (the norms are bit-identical) and dropped; the RNG state
   before each chunk is saved.
2. cosines: the Gram matrix of the first `cosine_samples` gradients is accumulated over
   groups of consecutive block parameters, each small enough that its gradients for all
   cosine samples fit in `memory_mb`. For each group every chunk is recomputed from its
   saved RNG state, so its dropout masks are pass 1's, with the gradient taken of the
   group only (autograd stops at the group's first block). Clipping scales a sample's
   gradient by a positive factor, which cosines do not see, so this pass does not clip.

Pass 2 costs a forward and a partial backward per group and chunk (GPT-2 at the default
2 GB: 12 groups, 5 chunks); the cosines equal the one-pass computation up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, grad, vmap
from tqdm import tqdm

from modality_rl.probes import GRAM_MEMORY_MB
from modality_rl.data.windows import WindowBatch
from modality_rl.models.decision_transformer import DecisionTransformer, block_parameter_sets
from modality_rl.probes.dump import GradientProbe
from modality_rl.training import batch_tensors, masked_action_mse

METHODS = ("vmap", "loop")
INPUTS = ("states", "actions", "returns_to_go", "timesteps", "mask")


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


def _vmap_gradients(model: DecisionTransformer, t: dict[str, torch.Tensor],
                    names: Sequence[str]) -> dict[str, torch.Tensor]:
    """{name: (samples, *shape)}: each sample's gradient of the parameters `names`. The
    other parameters are held fixed, so autograd goes back no further than the earliest
    block among `names`."""
    parameters = dict(model.named_parameters())
    wrt = {name: parameters[name].detach() for name in names}
    fixed = {n: p.detach() for n, p in parameters.items() if n not in wrt}
    fixed |= dict(model.named_buffers())

    def sample_loss(params, *sample):
        one = {key: value.unsqueeze(0) for key, value in zip(INPUTS, sample)}
        predicted = functional_call(model, (params, fixed), (
            one["states"], one["actions"], one["returns_to_go"], one["timesteps"]),
            {"attention_mask": one["mask"]})
        return masked_action_mse(predicted, one["actions"], one["mask"])

    return vmap(grad(sample_loss), in_dims=(None, *[0] * len(INPUTS)),
                randomness="different")(wrt, *(t[key] for key in INPUTS))


def _loop_gradients(model: DecisionTransformer, t: dict[str, torch.Tensor],
                    names: Sequence[str]) -> dict[str, torch.Tensor]:
    """The released code's loop, one backward per sample: the oracle of `_vmap_gradients`."""
    parameters = dict(model.named_parameters())
    rows: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    for i in range(len(t["mask"])):
        model.zero_grad()
        _loss(model, {key: value[i:i + 1] for key, value in t.items()}).backward()
        for name in names:
            rows[name].append(parameters[name].grad.clone())
    model.zero_grad()
    return {name: torch.stack(grads) for name, grads in rows.items()}


SAMPLE_GRADIENTS = {"vmap": _vmap_gradients, "loop": _loop_gradients}


def _move_into(matrix: torch.Tensor, rows: slice, gradients: dict[str, torch.Tensor],
               names: Sequence[str]) -> None:
    """matrix[rows] = the named gradients side by side, flattened (a torch.cat without a
    second copy): each is popped from `gradients` and freed once copied."""
    offset = 0
    for name in names:
        flat = gradients.pop(name)[:rows.stop - rows.start].flatten(1)
        matrix[rows, offset:offset + flat.shape[1]] = flat
        offset += flat.shape[1]


def _clipped_norms(gradients: dict[str, torch.Tensor], blocks: Sequence[str],
                   max_norm: float | None) -> torch.Tensor:
    """(samples,) norms of the clipped block gradients, from every trainable parameter's
    per-sample gradient (consumed). The clipped block gradients are formed as one
    (samples, block parameters) matrix and normed in one call, as before the two-pass
    probe, so the norms are bit-identical to its."""
    squared = sum(g.flatten(1).pow(2).sum(dim=1) for g in gradients.values())
    scale = _clip_scale(squared, max_norm)
    first = gradients[blocks[0]]
    matrix = torch.empty(len(scale), sum(gradients[n][0].numel() for n in blocks),
                         dtype=first.dtype, device=first.device)
    _move_into(matrix, slice(0, len(scale)), gradients, blocks)
    return matrix.mul_(scale[:, None]).norm(dim=1)


def _rng_state(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The generators dropout draws from: the CPU's, and the device's on a GPU."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple[torch.Tensor, torch.Tensor | None],
                   device: torch.device) -> None:
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)


def parameter_groups(model: DecisionTransformer, samples: int,
                     memory_mb: float) -> list[list[str]]:
    """The block parameters in forward order, cut into consecutive groups whose gradients
    for `samples` samples take at most `memory_mb` (a larger parameter is a group alone)."""
    groups: list[list[str]] = [[]]
    used = 0.0
    for name, p in model.named_parameters():
        if not name.startswith(model.family.blocks_prefix()):
            continue
        size = samples * p.numel() * p.element_size() / 2**20
        if groups[-1] and used + size > memory_mb:
            groups.append([])
            used = 0.0
        groups[-1].append(name)
        used += size
    return groups


def _gram(model: DecisionTransformer, t: dict[str, torch.Tensor], chunks: list[slice],
          states: list, cfg: GradientConfig, method: str, memory_mb: float,
          device: torch.device) -> torch.Tensor:
    """(cosine_samples, cosine_samples) Gram matrix of the first cosine_samples block
    gradients (unclipped), in float64, accumulated group of parameters by group.

    For each group, every chunk is recomputed from the RNG state it had in the first
    pass, at its full size, so its dropout masks are the first pass's. A group's buffer
    holds all cosine samples (their cross products), and one chunk's output comes on
    top: groups are sized for cosine_samples + chunk_size samples.
    """
    n = cfg.cosine_samples
    gram = torch.zeros(n, n, dtype=torch.float64, device=device)
    parameters = dict(model.named_parameters())
    groups = parameter_groups(model, n + cfg.chunk_size, memory_mb)
    for group in tqdm(groups, desc="cosine Gram matrix by parameter group", mininterval=10):
        first = parameters[group[0]]
        buffer = torch.empty(n, sum(parameters[name].numel() for name in group),
                             dtype=first.dtype, device=device)
        for rows, state in zip(chunks, states):
            if rows.start >= n:
                break
            _set_rng_state(state, device)
            gradients = SAMPLE_GRADIENTS[method](model, _rows(t, rows), group)
            _move_into(buffer, slice(rows.start, min(rows.stop, n)), gradients, group)
        gram += (buffer @ buffer.T).double()
        del buffer
    return gram


def _rows(t: dict[str, torch.Tensor], rows: slice) -> dict[str, torch.Tensor]:
    return {key: value[rows] for key, value in t.items()}


def parameter_gradient_norms(model: DecisionTransformer, t: dict[str, torch.Tensor],
                             max_norm: float | None) -> dict[str, float]:
    """Norm per block parameter set of the clipped gradient of the whole batch's loss.

    The blocks are checkpointed (each recomputes its forward in the backward pass, with
    the RNG state it had, so the same dropout masks and the same gradients): the whole
    batch's activations took 7.5 GB at GPT-2's shape, the blocks' inputs take 0.2 GB."""
    model.zero_grad()
    model.transformer.activation_checkpointing_enable({"use_reentrant": False})
    try:
        _loss(model, t).backward()
    finally:
        model.transformer.activation_checkpointing_disable()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    norms = {name: float(p.grad.norm()) for name, p in block_parameter_sets(model).items()}
    model.zero_grad(set_to_none=True)
    return norms


def gradient_probe(model: DecisionTransformer, batch: WindowBatch, cfg: GradientConfig,
                   method: str = "vmap", device: torch.device | str = "cpu",
                   train_mode: bool = True,
                   memory_mb: float = GRAM_MEMORY_MB) -> GradientProbe:
    """`train_mode` (dropout on) is the paper's setting; in eval mode vmap and loop agree.
    `memory_mb` bounds the per-sample gradients the cosines' pass holds at once; it
    changes the cosines only by float rounding."""
    if method not in METHODS:
        raise ValueError(f"unknown per-sample gradient method {method!r}; use one of {METHODS}")
    needed = max(cfg.norm_samples, cfg.cosine_samples)
    if needed > len(batch):
        raise ValueError(f"the probe batch has {len(batch)} samples; the gradient probe needs "
                         f"{needed} (analysis.gradients.norm_samples / cosine_samples)")
    device = torch.device(device)
    model.train(train_mode)
    torch.manual_seed(cfg.seed)
    t = batch_tensors(batch, device)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    blocks = [n for n in trainable if n.startswith(model.family.blocks_prefix())]
    # A chunk is chunk_size rows of the batch (the last one too, past `needed`): its
    # size fixes the dropout masks vmap draws.
    chunks = [slice(start, start + cfg.chunk_size) for start in range(0, needed, cfg.chunk_size)]
    norms, states = [], []
    for rows in tqdm(chunks, desc=f"per-sample gradient norms ({method})", mininterval=10):
        states.append(_rng_state(device))
        gradients = SAMPLE_GRADIENTS[method](model, _rows(t, rows), trainable)
        norms.append(_clipped_norms(gradients, blocks, cfg.max_norm))
        del gradients
    # Before the cosines' pass, which leaves the RNG where the first cosine chunks did.
    parameter_norms = parameter_gradient_norms(model, t, cfg.max_norm)
    gram = _gram(model, t, chunks, states, cfg, method, memory_mb, device)
    length = gram.diagonal().sqrt()
    return GradientProbe(
        sample_norms=torch.cat(norms)[:cfg.norm_samples].cpu().numpy(),
        cosines=(gram / length[:, None] / length[None, :]).float().cpu().numpy(),
        parameter_names=list(parameter_norms),
        parameter_norms=np.array(list(parameter_norms.values())),
    )
