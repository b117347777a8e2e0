"""The Decision Transformer's training windows (`get_batch` in the released gym code).

A window is K consecutive steps of one trajectory. Trajectories are drawn with
probability proportional to their length, the start step uniformly; a window that runs
past the end of its trajectory is shorter than K and left-padded: states 0 (before
normalisation), actions -10, rewards and returns-to-go 0, mask 0. Returns-to-go are
divided by `returns_scale` and timesteps capped at `max_episode_steps - 1`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from modality_rl.data.trajectories import Trajectory, returns_to_go

PAD_ACTION = -10.0


@dataclass(frozen=True)
class WindowBatch:
    states: np.ndarray  # (B, K, obs_dim) float32, normalised
    actions: np.ndarray  # (B, K, act_dim) float32
    rewards: np.ndarray  # (B, K, 1) float32
    returns_to_go: np.ndarray  # (B, K, 1) float32, divided by returns_scale
    timesteps: np.ndarray  # (B, K) int64
    mask: np.ndarray  # (B, K) float32: 1 for real steps, 0 for padding

    def __len__(self) -> int:
        return len(self.mask)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def concatenate(cls, batches: list[WindowBatch]) -> WindowBatch:
        return cls(**{f.name: np.concatenate([getattr(b, f.name) for b in batches])
                      for f in fields(cls)})


class WindowSampler:
    def __init__(self, trajectories: list[Trajectory], context_length: int,
                 state_mean: np.ndarray, state_std: np.ndarray, *,
                 max_episode_steps: int = 1000, returns_scale: float = 1000.0):
        if not trajectories:
            raise ValueError("WindowSampler needs at least one trajectory")
        self.trajectories = trajectories
        self.context_length = context_length
        self.state_mean = state_mean
        self.state_std = state_std
        self.max_episode_steps = max_episode_steps
        self.returns_scale = returns_scale
        self.lengths = np.array([len(t) for t in trajectories])
        self.probabilities = self.lengths / self.lengths.sum()
        self._returns_to_go = [returns_to_go(t.rewards) for t in trajectories]

    def sample_starts(self, batch_size: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(trajectory index, start step) per window, length-weighted."""
        indices = rng.choice(len(self.trajectories), size=batch_size, p=self.probabilities)
        starts = rng.integers(0, self.lengths[indices])
        return indices, starts

    def sample(self, batch_size: int, rng: np.random.Generator) -> WindowBatch:
        return self.windows(*self.sample_starts(batch_size, rng))

    def windows(self, indices: np.ndarray, starts: np.ndarray) -> WindowBatch:
        return WindowBatch.concatenate([self.window(int(i), int(s))
                                        for i, s in zip(indices, starts)])

    def window(self, index: int, start: int) -> WindowBatch:
        """The window of trajectory `index` that starts at step `start`, as a batch of one."""
        trajectory = self.trajectories[index]
        end = min(start + self.context_length, len(trajectory))
        pad = self.context_length - (end - start)

        def left_pad(values: np.ndarray, fill: float) -> np.ndarray:
            padding = np.full((pad,) + values.shape[1:], fill, dtype=np.float64)
            return np.concatenate([padding, values], axis=0)[None]

        states = left_pad(trajectory.observations[start:end], 0.0)
        timesteps = np.minimum(np.arange(start, end), self.max_episode_steps - 1)
        return WindowBatch(
            states=((states - self.state_mean) / self.state_std).astype(np.float32),
            actions=left_pad(trajectory.actions[start:end], PAD_ACTION).astype(np.float32),
            rewards=left_pad(trajectory.rewards[start:end, None], 0.0).astype(np.float32),
            returns_to_go=(left_pad(self._returns_to_go[index][start:end, None], 0.0)
                           / self.returns_scale).astype(np.float32),
            timesteps=left_pad(timesteps, 0).astype(np.int64),
            mask=left_pad(np.ones(end - start), 0.0).astype(np.float32),
        )
