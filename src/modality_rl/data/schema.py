"""contract: HDF5. The D4RL v2 layout every dataset has, whatever its source."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from modality_rl.envs import env_spec

REQUIRED_KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")
# D4RL v2 MuJoCo files carry next_observations; older or foreign files may not.
OPTIONAL_KEYS = ("next_observations",)


class DatasetError(RuntimeError):
    """A dataset file is missing, unreadable, or does not follow the D4RL v2 schema."""


def verify_d4rl_file(path: str | os.PathLike, env: str) -> int:
    """Check that `path` is a complete D4RL v2 file for `env`; return its transition count.

    Reads every array, so a file truncated or corrupted inside its data (not only in its
    header) is caught as well.
    """
    path = Path(path)
    spec = env_spec(env)
    expected_width = {"observations": spec.obs_dim, "next_observations": spec.obs_dim,
                      "actions": spec.act_dim}
    try:
        with h5py.File(path, "r") as f:
            missing = [key for key in REQUIRED_KEYS if key not in f]
            if missing:
                raise DatasetError(f"{path}: missing D4RL keys {missing}")
            arrays = {key: f[key][()] for key in REQUIRED_KEYS + OPTIONAL_KEYS if key in f}
    except DatasetError:
        raise
    except Exception as err:  # h5py raises OSError, KeyError or ValueError on damage
        raise DatasetError(
            f"{path}: not a readable HDF5 file (truncated or corrupted?): {err}") from err

    n = len(arrays["observations"])
    if n == 0:
        raise DatasetError(f"{path}: the dataset is empty")
    for key, array in arrays.items():
        if len(array) != n:
            raise DatasetError(f"{path}: '{key}' has {len(array)} rows, 'observations' has {n}")
        width = expected_width.get(key)
        if width is not None and array.shape != (n, width):
            raise DatasetError(
                f"{path}: '{key}' has shape {array.shape}, {env} needs ({n}, {width})")
        if width is None and array.reshape(n, -1).shape[1] != 1:
            raise DatasetError(
                f"{path}: '{key}' should hold one value per row, has shape {array.shape}")
        if key in ("observations", "actions", "rewards") and not np.isfinite(array).all():
            raise DatasetError(f"{path}: '{key}' contains NaN or infinite values")
    return n


def write_d4rl_hdf5(arrays: dict[str, np.ndarray], path: str | os.PathLike,
                    attrs: dict[str, object]) -> None:
    """Write the flat D4RL v2 arrays and provenance attributes (same arrays, same bytes)."""
    with h5py.File(path, "w") as f:
        for key, array in arrays.items():
            f.create_dataset(key, data=array)
        f.attrs.update(attrs)


def read_d4rl_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The flat arrays of a verified D4RL v2 file (its required and optional keys)."""
    from modality_rl.inputs import damaged, open_hdf5

    with open_hdf5(path, "dataset") as f:
        try:
            return {key: f[key][()] for key in REQUIRED_KEYS + OPTIONAL_KEYS if key in f}
        except (KeyError, OSError) as err:
            raise damaged(path, "dataset", err) from err


def stitch(parts: list[dict[str, np.ndarray]], max_transitions: int) -> dict[str, np.ndarray]:
    """D4RL's stitch_dataset.py: every part but the last cut at its last episode's end
    (its last terminal or timeout), then the parts in order, at most `max_transitions`."""
    keys = [key for key in parts[0] if all(key in part for part in parts)]
    cut = []
    for i, part in enumerate(parts):
        if i == len(parts) - 1:
            cut.append(part)
            continue
        ends = np.flatnonzero(part["terminals"] | part["timeouts"])
        n = int(ends[-1]) + 1 if len(ends) else 0
        cut.append({key: part[key][:n] for key in keys})
    return {key: np.concatenate([part[key] for part in cut])[:max_transitions] for key in keys}
