"""Trajectories from a D4RL v2 file, as the Decision Transformer code builds them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from modality_rl.inputs import damaged, open_hdf5

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Trajectory:
    observations: np.ndarray  # (T, obs_dim)
    actions: np.ndarray  # (T, act_dim)
    rewards: np.ndarray  # (T,)
    terminal: bool  # ended by the environment rather than by the time limit

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def total_return(self) -> float:
        return float(self.rewards.sum())


def split_trajectories(arrays: dict[str, np.ndarray]) -> list[Trajectory]:
    """Cut the flat transition arrays into episodes at `terminals | timeouts`.

    Transitions after the last flagged end belong to an episode the file does not finish;
    they are dropped, as the Decision Transformer's D4RL conversion drops them.
    """
    terminals = arrays["terminals"].reshape(-1).astype(bool)
    ends = np.flatnonzero(terminals | arrays["timeouts"].reshape(-1).astype(bool))
    dropped = len(terminals) - (ends[-1] + 1 if len(ends) else 0)
    if dropped:
        log.info("dropping %d transitions of an unfinished last episode", dropped)
    rewards = arrays["rewards"].reshape(-1)
    return [
        Trajectory(observations=arrays["observations"][start:end + 1],
                   actions=arrays["actions"][start:end + 1], rewards=rewards[start:end + 1],
                   terminal=bool(terminals[end]))
        for start, end in zip(np.r_[0, ends[:-1] + 1], ends)
    ]


def load_trajectories(path: str | os.PathLike) -> list[Trajectory]:
    with open_hdf5(path, "dataset") as f:
        try:
            arrays = {key: f[key][()] for key in
                      ("observations", "actions", "rewards", "terminals", "timeouts")}
        except (KeyError, OSError) as err:  # a missing key, or data cut short inside
            raise damaged(path, "dataset", err) from err
    return split_trajectories(arrays)


def dataset_attrs(path: str | os.PathLike) -> dict:
    """A dataset file's provenance attributes (source, gym_id, reference scores, ...)."""
    with open_hdf5(path, "dataset") as f:
        return {key: value.decode() if isinstance(value, bytes) else value
                for key, value in f.attrs.items()}


def state_statistics(trajectories: list[Trajectory]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std of every state (std + 1e-6, as in the DT code)."""
    states = np.concatenate([t.observations for t in trajectories], axis=0)
    return states.mean(axis=0), states.std(axis=0) + 1e-6


def returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """Undiscounted sum of the rewards from each step to the end of the episode."""
    return np.cumsum(rewards[::-1], dtype=np.float64)[::-1].copy()


def mean_episode_return(path: str | os.PathLike) -> float:
    """Mean return of the dataset's episodes: the paper's random / expert score."""
    return float(np.mean([t.total_return for t in load_trajectories(path)]))
