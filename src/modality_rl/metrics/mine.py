"""Mutual information I(X; Z) by MINE, many estimators trained at once.

MINE (Belghazi et al. 2018, "Mutual Information Neural Estimation") trains a statistics
network T(x, z) to maximise the Donsker-Varadhan lower bound

    I(X; Z) >= E_p(x,z)[T] - log E_p(x)p(z)[exp T],

with samples of the product of marginals made by shuffling z against x. The paper
(Takagi 2022, appendix E) used https://github.com/gtegner/mine-pytorch through its own
`util_mi_calculation.py`, whose setup this reproduces: T = Linear(dx + dz, H) -> ReLU ->
[Linear(H, H) -> ReLU] x (L - 1) -> Linear(H, 1), H = 400, Adam at lr 1e-4, 1000 epochs
over shuffled mini-batches of 50. The released code has L = 3 hidden layers (the paper's
text says two): `hidden_layers` defaults to the released 3, config key
`analysis.mutual_information.hidden_layers`. The gradient of log mean exp(T) is biased
on a mini-batch, so mine-pytorch divides it by a moving average ("EMA", alpha = 0.01) of
mean exp(T) over past mini-batches instead of the current mini-batch's mean;
`_EmaLogMeanExp` is that correction. The estimate returned (in nats) is the bound on all
n samples after training, with one random shuffle of z.

The analysis needs thousands of estimates of small networks (about 6,000 in a partition
of the paper's tables), so E estimators are held as one stacked network (leading
estimator axis, batched matmuls) and trained in one loop, `chunk_size` estimators at a
time: a chunk's draws and network are built, trained and dropped before the next.
Inputs of different widths are zero-padded to the widest; the padded rows of the first
layer start at zero, receive zero gradient and so stay zero under Adam: each padded
network computes exactly its unpadded self. Adam is elementwise, so one Adam over the
stacked tensors is E independent Adams, and the losses are summed, so estimators do not
see each other's gradients. Estimator i's randomness (initial weights, epoch orders,
marginal shuffles, the final shuffle) comes only from its own generator seeded by
(config.seed, seeds[i]) and is drawn up front, so an estimate does not depend on which
other estimators share its batch.

The null baseline (`mine_estimates_with_null`). With n = 100 samples of 768-wide
activations, as the paper's tables have, the network can memorise the sample: on
independent data the bound still climbs to several nats. Each estimate is therefore
paired with the same estimator (same stream, so the same initial weights, epoch orders
and shuffles, and the same iterations) trained on x against a fixed permutation of z's
rows, which keeps both marginals and breaks the pairing: its value is what the estimator
reports when there is no dependence to find.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm, trange

from modality_rl.metrics.null import null_permutation

EMA_EPS = 1e-6  # mine-pytorch's EPS in the corrected gradient's denominator
_STREAM_STRIDE = 1_000_003  # keeps (config.seed, stream) pairs on distinct generator seeds


@dataclass(frozen=True, kw_only=True)
class MineConfig:
    """config key `analysis.mutual_information`, less the experiment and epoch it reads."""
    hidden: int = 400  # width of every hidden layer
    hidden_layers: int = 3  # the released util_mi_calculation.py; the paper's text says 2
    learning_rate: float = 1e-4
    iterations: int = 1000  # epochs over the n samples
    batch_size: int = 50
    ema_alpha: float = 0.01
    seed: int = 0
    # Estimators built and trained at once (their draws and one stacked network): bounds
    # memory, ~14 MB an estimator of the paper's network on 768-wide activations.
    chunk_size: int = 256

    def __post_init__(self):
        if self.hidden_layers < 1:
            raise ValueError(f"MineConfig.hidden_layers is {self.hidden_layers}: the "
                             "statistics network needs at least one hidden layer")
        if self.chunk_size < 1:
            raise ValueError(f"MineConfig.chunk_size is {self.chunk_size}: a chunk holds "
                             "at least one estimator")


@dataclass(frozen=True)
class _Draws:
    """Every random number of E estimators, stacked along the first axis."""

    weights: dict[str, torch.Tensor]  # initial parameters, padded; trained in place
    order: torch.Tensor  # (E, iterations, n) sample order of each epoch
    marginal: torch.Tensor  # (E, iterations, batches, batch_size) shuffle of z in a batch
    final: torch.Tensor  # (E, n) shuffle of z for the final estimate


class _EmaLogMeanExp(torch.autograd.Function):
    """log mean exp(t) over the batch axis, per estimator, with mine-pytorch's gradient.

    The forward value is the plain log mean exp; the backward replaces the batch mean of
    exp(t) in the denominator by the running mean, which reduces the gradient's bias.
    """

    @staticmethod
    def forward(ctx, t: torch.Tensor, running_mean: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(t, running_mean)
        return torch.logsumexp(t, dim=1) - math.log(t.shape[1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        t, running_mean = ctx.saved_tensors
        scale = grad / (running_mean + EMA_EPS) / t.shape[1]
        return scale[:, None] * t.exp(), None


class StackedStatisticsNetwork(nn.Module):
    """E statistics networks T_i(x, z) = MLP(concat[x, z]) as stacked tensors.

    `weights` holds the first layer as w1x, w1z, b1 and every later layer i (the hidden
    H x H layers, then the H x 1 output) as w{i}, b{i}. The first layer is split into its
    x rows and z rows, since concat[x, z] @ W1 = x @ W1x + z @ W1z: the x product, the
    widest, is then shared by the joint and the marginal pass, which differ only in the
    order of z.
    """

    def __init__(self, weights: dict[str, torch.Tensor]):
        super().__init__()
        self.w1x, self.w1z, self.b1 = (nn.Parameter(weights[k]) for k in ("w1x", "w1z", "b1"))
        later = range(2, sum(key.startswith("b") for key in weights) + 1)
        self.ws = nn.ParameterList(weights[f"w{i}"] for i in later)
        self.bs = nn.ParameterList(weights[f"b{i}"] for i in later)

    @property
    def hidden_layers(self) -> int:
        return len(self.ws)  # (hidden_layers - 1) H x H layers, then the output layer

    def head(self, h1: torch.Tensor) -> torch.Tensor:
        """(E, B, H) first-layer pre-activations -> (E, B) values of T."""
        h = torch.relu(h1)
        for w, b in zip(self.ws[:-1], self.bs[:-1]):
            h = torch.relu(torch.baddbmm(b, h, w))  # (E, B, H)
        return torch.baddbmm(self.bs[-1], h, self.ws[-1]).squeeze(-1)

    def forward(self, x: torch.Tensor, z: torch.Tensor,
                shuffle: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """T on the pairs (x_b, z_b) and on (x_b, z_shuffle[b]); both (E, B), from one pass."""
        xw = torch.baddbmm(self.b1, x, self.w1x)
        zw = torch.bmm(z, self.w1z)
        both = self.head(torch.cat([xw + zw, xw + _rows(zw, shuffle)], dim=1))
        return both.split(x.shape[1], dim=1)


def donsker_varadhan(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> np.ndarray:
    """mean(T_joint) - log mean exp(T_marginal) per estimator (row); NaN where not finite.

    A diverged network gives inf or NaN; the paper drops such points, so they come back
    as NaN rather than as an error that would lose the other estimators' results.
    """
    n = t_marginal.shape[1]
    bound = t_joint.mean(dim=1) - (torch.logsumexp(t_marginal, dim=1) - math.log(n))
    bound = bound.double().cpu().numpy()
    return np.where(np.isfinite(bound), bound, np.nan)


def _as_matrix(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """(n,) or (n, d) -> (n, d) of `dtype` (sharing memory where the dtype allows)."""
    t = torch.as_tensor(np.asarray(a), dtype=dtype)
    return t[:, None] if t.ndim == 1 else t


def _validated(pairs: Sequence[tuple[np.ndarray, np.ndarray]], batch_size: int) -> None:
    """Every x and z is (n,) or (n, d), with one n for all pairs and n >= batch_size."""
    if len(pairs) == 0:
        raise ValueError("pairs is empty: MINE needs at least one (x, z) pair")
    n = None
    for i in range(len(pairs)):
        x, z = (np.shape(a) for a in pairs[i])
        for what, shape in (("x", x), ("z", z)):
            if len(shape) not in (1, 2):
                raise ValueError(f"pair {i}: {what} must be (n,) or (n, d), got shape {shape}")
        if x[0] != z[0]:
            raise ValueError(f"pair {i}: x has {x[0]} samples but z has {z[0]}")
        if n is not None and x[0] != n:
            raise ValueError(f"pair {i} has {x[0]} samples but pair 0 has {n}: all pairs "
                             "must have the same n")
        n = x[0]
    if n < batch_size:
        raise ValueError(f"n = {n} samples is fewer than batch_size = {batch_size}: there "
                         "is no full mini-batch to train on")


def _uniform(shape: tuple[int, ...], fan_in: int, g: torch.Generator) -> torch.Tensor:
    """nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound, generator=g)


def _permutations(rows: int, n: int, g: torch.Generator) -> torch.Tensor:
    """`rows` independent permutations of range(n) in one call (argsort of uniforms)."""
    return torch.rand(rows, n, generator=g, dtype=torch.float64).argsort(dim=1)


def _draw_one(dx: int, dz: int, dx_max: int, dz_max: int, n: int, config: MineConfig,
              g: torch.Generator) -> dict[str, torch.Tensor]:
    """One estimator's random numbers, in a fixed order from its own generator."""
    h, batches, b = config.hidden, n // config.batch_size, config.batch_size
    w1 = _uniform((dx + dz, h), dx + dz, g)  # true fan_in; padded rows stay zero
    w1x, w1z = torch.zeros(dx_max, h), torch.zeros(dz_max, h)
    w1x[:dx], w1z[:dz] = w1[:dx], w1[dx:]
    draws = {"w1x": w1x, "w1z": w1z, "b1": _uniform((1, h), dx + dz, g)}
    for i in range(2, config.hidden_layers + 2):  # hidden H x H layers, then the output
        width = 1 if i == config.hidden_layers + 1 else h
        draws[f"w{i}"], draws[f"b{i}"] = _uniform((h, width), h, g), _uniform((1, width), h, g)
    return {
        **draws,
        "order": _permutations(config.iterations, n, g),
        "marginal": _permutations(config.iterations * batches, b, g).view(
            config.iterations, batches, b),
        "final": _permutations(1, n, g)[0],
    }


def _draw(xs: list[torch.Tensor], zs: list[torch.Tensor], streams: Sequence[int],
          config: MineConfig, device: torch.device) -> _Draws:
    """All estimators' random numbers, each from the generator of (config.seed, stream)."""
    dx_max, dz_max = max(x.shape[1] for x in xs), max(z.shape[1] for z in zs)
    n = xs[0].shape[0]
    per = [_draw_one(x.shape[1], z.shape[1], dx_max, dz_max, n, config,
                     torch.Generator().manual_seed(config.seed * _STREAM_STRIDE + int(s)))
           for x, z, s in zip(xs, zs, streams)]
    stacked = {k: torch.stack([p[k] for p in per]).to(device) for k in per[0]}
    # Drawn in float32 whatever the dtype: a float64 run is the same experiment, exacter.
    order, marginal, final = (stacked.pop(k) for k in ("order", "marginal", "final"))
    weights = {k: v.to(xs[0].dtype) for k, v in stacked.items()}
    return _Draws(weights, order, marginal, final)


def _padded(mats: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """(E, n, d_max): each matrix with zero columns appended up to the widest."""
    width = max(m.shape[1] for m in mats)
    return torch.stack([nn.functional.pad(m, (0, width - m.shape[1])) for m in mats]).to(device)


def _rows(a: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Per-estimator row selection: a (E, n, d), index (E, B) -> (E, B, d).

    One index_select of whole rows of the flattened (E * n, d) matrix: on a CPU about 9x
    faster than `a.gather(1, index expanded over d)`, which indexes every element (and
    2x in the backward pass); the same values, bit for bit.
    """
    e, n, d = a.shape
    flat = index + n * torch.arange(e, device=index.device)[:, None]  # (E, B) rows of a
    return a.reshape(e * n, d).index_select(0, flat.reshape(-1)).view(e, -1, d)


def _ema(running: torch.Tensor | None, t_marginal: torch.Tensor, alpha: float) -> torch.Tensor:
    """mine-pytorch's running mean of mean exp(T_marginal): starts at the first batch's."""
    current = torch.exp(torch.logsumexp(t_marginal.detach(), dim=1)
                        - math.log(t_marginal.shape[1]))
    return current if running is None else alpha * current + (1.0 - alpha) * running


def _train(net: StackedStatisticsNetwork, x: torch.Tensor, z: torch.Tensor, draws: _Draws,
           config: MineConfig, progress: bool) -> None:
    """Adam on the summed per-estimator MINE losses, one epoch per iteration."""
    fused = x.device.type in ("cpu", "cuda")  # one kernel per tensor: ~3x faster on CPU
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate, fused=fused)
    b, running = config.batch_size, None
    for it in trange(config.iterations, desc="MINE", disable=not progress, mininterval=5):
        for k in range(draws.marginal.shape[2]):
            index = draws.order[:, it, k * b:(k + 1) * b]
            t_joint, t_marginal = net(_rows(x, index), _rows(z, index), draws.marginal[:, it, k])
            running = _ema(running, t_marginal, config.ema_alpha)
            loss = -t_joint.mean(dim=1) + _EmaLogMeanExp.apply(t_marginal, running)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            optimizer.step()


def _estimate_chunk(pairs: Sequence[tuple[np.ndarray, np.ndarray]], streams: Sequence[int],
                    config: MineConfig, device: torch.device, progress: bool,
                    dtype: torch.dtype) -> np.ndarray:
    """Draw, build, train and evaluate the stacked network of these estimators."""
    xs = [_as_matrix(x, dtype) for x, _ in pairs]
    zs = [_as_matrix(z, dtype) for _, z in pairs]
    draws = _draw(xs, zs, streams, config, device)
    net = StackedStatisticsNetwork(draws.weights)
    x, z = _padded(xs, device), _padded(zs, device)
    _train(net, x, z, draws, config, progress)
    with torch.no_grad():
        return donsker_varadhan(*net(x, z, draws.final))


def mine_estimates(pairs: Sequence[tuple[np.ndarray, np.ndarray]],
                   config: MineConfig = MineConfig(), device: torch.device | str = "cpu",
                   progress: bool = False, seeds: Sequence[int] | None = None,
                   dtype: torch.dtype = torch.float32) -> np.ndarray:
    """One MI estimate (nats) per (x, z) pair, estimators trained config.chunk_size at once.

    x is (n, dx) or (n,), z is (n, dz) or (n,); every pair has the same n, dims may
    differ. Estimator i draws all its randomness from the generator seeded by
    (config.seed, seeds[i]), seeds defaulting to range(len(pairs)), so it gives the same
    number whether trained alone (`mine_estimate(x, z, config, seed=seeds[i])`), in any
    batch or in any chunk. Diverged estimators are NaN. `pairs` is read a chunk at a
    time (any sequence: its items may be made on access).

    Exactly the same up to rounding, that is: a batch of E and a batch of 1 round the
    matmuls differently (~1e-7 in float32) and training amplifies that (to ~1e-2 after
    100 epochs of the paper's network). dtype=torch.float64 shows the equality at any
    length (~1e-15), at twice the cost.
    """
    n_pairs = len(pairs)
    _validated(pairs, config.batch_size)
    streams = list(range(n_pairs) if seeds is None else seeds)
    if len(streams) != n_pairs:
        raise ValueError(f"got {len(streams)} seeds for {n_pairs} pairs")
    device = torch.device(device)
    chunks = range(0, n_pairs, config.chunk_size)
    return np.concatenate([
        _estimate_chunk([pairs[i] for i in range(start, min(start + config.chunk_size,
                                                             n_pairs))],
                        streams[start:start + config.chunk_size], config, device, progress,
                        dtype)
        for start in tqdm(chunks, desc=f"MINE chunks of {config.chunk_size} estimators",
                          disable=not progress or len(chunks) == 1)])


class _PairsThenNulls(Sequence):
    """The pairs, then each pair with z's rows permuted, made on access: only a chunk's
    permuted copies of z exist at a time (all of them take 0.6 GB in the no_context
    table at the paper's shapes)."""

    def __init__(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], permutation: np.ndarray):
        self.pairs, self.permutation = pairs, permutation

    def __len__(self) -> int:
        return 2 * len(self.pairs)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        x, z = self.pairs[i % len(self.pairs)]
        return (x, z) if i < len(self.pairs) else (x, np.asarray(z)[self.permutation])


def mine_estimates_with_null(pairs: Sequence[tuple[np.ndarray, np.ndarray]],
                             config: MineConfig = MineConfig(),
                             device: torch.device | str = "cpu", progress: bool = False,
                             seeds: Sequence[int] | None = None,
                             dtype: torch.dtype = torch.float32
                             ) -> tuple[np.ndarray, np.ndarray]:
    """(estimates, nulls): MINE on each (x, z), and on (x, z[permutation]) with
    permutation = null_permutation(n, config.seed).

    One `mine_estimates` call trains both; the null of pair i uses pair i's stream, so it
    differs from the estimate only in the pairing of the samples.
    """
    streams = list(range(len(pairs)) if seeds is None else seeds)
    if len(streams) != len(pairs):
        raise ValueError(f"got {len(streams)} seeds for {len(pairs)} pairs")
    permutation = null_permutation(len(np.asarray(pairs[0][1])), config.seed) if pairs else None
    both = mine_estimates(_PairsThenNulls(pairs, permutation), config, device, progress,
                          streams + streams, dtype)
    return both[:len(pairs)], both[len(pairs):]


def mine_estimate(x: np.ndarray, z: np.ndarray, config: MineConfig = MineConfig(),
                  device: torch.device | str = "cpu", seed: int | None = None,
                  dtype: torch.dtype = torch.float32) -> float:
    """A single estimate: exactly mine_estimates([(x, z)], config, seeds=[seed])[0].

    seed None means stream 0, the stream of a one-pair `mine_estimates` call.
    """
    seeds = None if seed is None else [seed]
    return float(mine_estimates([(x, z)], config, device, seeds=seeds, dtype=dtype)[0])
