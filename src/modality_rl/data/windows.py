"""The Decision Transformer's training windows (`get_batch` in the released gym code).

A window is K consecutive steps of one trajectory. Trajectories are drawn with
probability proportional to their length, the start step uniformly; a window that runs
past the end of its trajectory is shorter than K and left-padded: states 0 (before
normalisation), actions -10, rewards and returns-to-go 0, mask 0. Returns-to-go are
divided by `returns_scale` and timesteps capped at `max_episode_steps - 1`.

Windows are gathered, not built one by one: `WindowStorage` holds every step of every
trajectory once, already in the form a window holds it, plus one padding step; a batch
is one index array (B, K) into it. The storage can live on a torch device, so that on a
GPU a batch costs one small host-to-device copy of indices.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from modality_rl.data.trajectories import Trajectory, returns_to_go

if TYPE_CHECKING:
    import torch

PAD_ACTION = -10.0
TRAJECTORY_SAMPLING = ("all", "released")


@dataclass(frozen=True)
class WindowBatch:
    # numpy arrays; torch tensors on the device when gathered from a storage on one.
    states: np.ndarray  # (B, K, obs_dim) float32, normalised
    actions: np.ndarray  # (B, K, act_dim) float32
    rewards: np.ndarray  # (B, K, 1) float32
    returns_to_go: np.ndarray  # (B, K, 1) float32, divided by returns_scale
    timesteps: np.ndarray  # (B, K) int64
    mask: np.ndarray  # (B, K) float32: 1 for real steps, 0 for padding

    def __len__(self) -> int:
        return len(self.mask)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class WindowStorage:
    """Every step of every trajectory as window fields, flat, with one padding step last.

    Each step's values are computed once with the arithmetic a window applies to them
    (states: float64 (observation - mean) / std, then float32; returns-to-go: float64
    sums / returns_scale, then float32; timesteps capped), and the padding step holds the
    padding values computed the same way ((0 - mean) / std for states). Windows gathered
    from here are therefore bit-identical to windows built step by step.
    """
    steps: dict[str, Any]  # field -> (total steps + 1, ...): numpy, or torch on `device`
    offsets: np.ndarray  # (trajectories,) int64: row of each trajectory's first step
    lengths: np.ndarray  # (trajectories,) int64
    device: torch.device | None = None  # None: numpy arrays on the host

    @classmethod
    def build(cls, trajectories: list[Trajectory], state_mean: np.ndarray,
              state_std: np.ndarray, *, max_episode_steps: int,
              returns_scale: float) -> WindowStorage:
        def with_padding(per_trajectory: list[np.ndarray], pad: float) -> np.ndarray:
            # The float64 padding step promotes the steps to float64, as left padding did.
            values = np.concatenate(per_trajectory)
            return np.concatenate([values, np.full((1,) + values.shape[1:], pad, np.float64)])

        states = with_padding([t.observations for t in trajectories], 0.0)
        steps = {
            "states": ((states - state_mean) / state_std).astype(np.float32),
            "actions": with_padding([t.actions for t in trajectories], PAD_ACTION)
            .astype(np.float32),
            "rewards": with_padding([t.rewards[:, None] for t in trajectories], 0.0)
            .astype(np.float32),
            "returns_to_go": (with_padding([returns_to_go(t.rewards)[:, None]
                                            for t in trajectories], 0.0)
                              / returns_scale).astype(np.float32),
            "timesteps": with_padding([np.minimum(np.arange(len(t)), max_episode_steps - 1)
                                       for t in trajectories], 0).astype(np.int64),
            "mask": with_padding([np.ones(len(t)) for t in trajectories], 0.0)
            .astype(np.float32),
        }
        lengths = np.array([len(t) for t in trajectories], np.int64)
        return cls(steps=steps, offsets=np.cumsum(lengths) - lengths, lengths=lengths)

    @property
    def padding_row(self) -> int:
        return int(self.lengths.sum())

    @property
    def nbytes(self) -> int:
        return sum(int(values.nbytes) for values in self.steps.values())

    def rows(self, indices: np.ndarray, starts: np.ndarray, context_length: int) -> np.ndarray:
        """(B, K) rows of the windows of trajectories `indices` from steps `starts`.

        A window holds steps start .. end - 1, end = min(start + K, length), right-aligned;
        the positions before them point at the padding row.
        """
        ends = np.minimum(starts + context_length, self.lengths[indices])  # (B,)
        steps = ends[:, None] + np.arange(-context_length, 0)  # (B, K)
        return np.where(steps >= starts[:, None], self.offsets[indices][:, None] + steps,
                        self.padding_row)

    def gather(self, indices: np.ndarray, starts: np.ndarray, context_length: int
               ) -> WindowBatch:
        rows = self.rows(indices, starts, context_length)  # (B, K)
        if self.device is None:
            return WindowBatch(**{name: values[rows] for name, values in self.steps.items()})
        import torch

        # index_select, not values[rows]: on CPU torch's advanced indexing is ~100x slower.
        flat = torch.from_numpy(rows.reshape(-1)).to(self.device)
        return WindowBatch(**{name: values.index_select(0, flat).unflatten(0, rows.shape)
                              for name, values in self.steps.items()})

    def to(self, device: torch.device | str) -> WindowStorage:
        """This storage as torch tensors on `device` (on the CPU they share the memory)."""
        import torch

        device = torch.device(device)
        return replace(self, device=device, steps={
            name: torch.as_tensor(values).to(device) for name, values in self.steps.items()})


def drawn_trajectories(trajectories: list[Trajectory], trajectory_sampling: str) -> np.ndarray:
    """The trajectories windows are drawn from, in the order the draw indexes them.

    `all`: every trajectory, in file order. `released`: the released code's draw, which
    orders trajectories by return (np.argsort, lowest first) and keeps the top
    `pct_traj` = 1 of the steps with a loop that stops one trajectory short, so the
    lowest-return trajectory is never drawn (kzl/decision-transformer#33; the paper's
    code forked before upstream fixed it).
    """
    if trajectory_sampling == "all":
        return np.arange(len(trajectories))
    if trajectory_sampling == "released":
        order = np.argsort(np.array([t.rewards.sum() for t in trajectories]))
        return order[1:] if len(order) > 1 else order
    raise ValueError(f"trajectory_sampling (training.trajectory_sampling) must be one of "
                     f"{TRAJECTORY_SAMPLING}, got {trajectory_sampling!r}")


class WindowSampler:
    def __init__(self, trajectories: list[Trajectory], context_length: int,
                 state_mean: np.ndarray, state_std: np.ndarray, *,
                 max_episode_steps: int = 1000, returns_scale: float = 1000.0,
                 trajectory_sampling: str = "all"):
        if not trajectories:
            raise ValueError("WindowSampler needs at least one trajectory")
        self.context_length = context_length
        self.state_mean = state_mean
        self.state_std = state_std
        self.lengths = np.array([len(t) for t in trajectories])
        self.drawn = drawn_trajectories(trajectories, trajectory_sampling)
        self.probabilities = self.lengths[self.drawn] / self.lengths[self.drawn].sum()
        self.storage = WindowStorage.build(trajectories, state_mean, state_std,
                                           max_episode_steps=max_episode_steps,
                                           returns_scale=returns_scale)

    def sample_starts(self, batch_size: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(trajectory index, start step) per window, length-weighted."""
        indices = self.drawn[rng.choice(len(self.drawn), size=batch_size, p=self.probabilities)]
        starts = rng.integers(0, self.lengths[indices])
        return indices, starts

    def sample(self, batch_size: int, rng: np.random.Generator) -> WindowBatch:
        return self.windows(*self.sample_starts(batch_size, rng))

    def windows(self, indices: np.ndarray, starts: np.ndarray) -> WindowBatch:
        return self.storage.gather(indices, starts, self.context_length)

    def to(self, device: torch.device | str) -> WindowSampler:
        """The same sampler with its storage on `device`: batches are tensors there."""
        moved = copy.copy(self)
        moved.storage = self.storage.to(device)
        return moved
