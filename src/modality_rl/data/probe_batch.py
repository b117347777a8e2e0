"""The fixed probe batch: the same seeded windows for every model's analyses of an env."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import h5py
import numpy as np

from modality_rl.data.trajectories import load_trajectories, state_statistics
from modality_rl.data.windows import WindowBatch, WindowSampler
from modality_rl.inputs import damaged, open_hdf5
from modality_rl.io import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ProbeBatchConfig:
    """config key `probe`: the fixed probe batch every model's analyses use."""
    batch_size: int
    context_length: int
    seed: int


def make_probe_batch(dataset_path: str | os.PathLike, target: str | os.PathLike,
                     cfg: ProbeBatchConfig, *, max_episode_steps: int = 1000,
                     returns_scale: float = 1000.0) -> WindowBatch:
    """Sample `cfg.batch_size` windows with the training sampler and save them with their
    provenance."""
    size, context_length, seed = cfg.batch_size, cfg.context_length, cfg.seed
    trajectories = load_trajectories(dataset_path)
    mean, std = state_statistics(trajectories)
    sampler = WindowSampler(trajectories, context_length, mean, std,
                            max_episode_steps=max_episode_steps, returns_scale=returns_scale)
    indices, starts = sampler.sample_starts(size, np.random.default_rng(seed))
    batch = sampler.windows(indices, starts)
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
        for key, array in batch.as_dict().items():
            f.create_dataset(key, data=array)
        f.create_dataset("trajectory_index", data=indices)
        f.create_dataset("start_step", data=starts)
        f.create_dataset("state_mean", data=mean)
        f.create_dataset("state_std", data=std)
        f.attrs.update({"dataset": os.fspath(dataset_path), "seed": seed,
                        "context_length": context_length, "returns_scale": returns_scale})
    log.info("%d windows of %d steps from %d trajectories of %s (seed %d; %.1f%% padded steps)",
             size, context_length, len(trajectories), dataset_path, seed,
             100 * (1 - batch.mask.mean()))
    return batch


def load_probe_batch(path: str | os.PathLike) -> WindowBatch:
    with open_hdf5(path, "probe batch") as f:
        try:
            return WindowBatch(**{key: f[key][()] for key in WindowBatch.__dataclass_fields__})
        except (KeyError, OSError) as err:
            raise damaged(path, "probe batch", err) from err
