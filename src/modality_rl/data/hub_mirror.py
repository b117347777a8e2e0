"""contract: HDF5. One dataset of the Hugging Face Hub mirror (parquet), as a D4RL v2 file.

The mirror (`data.d4rl.hub`, by default `edbeeching/decision_transformer_gym_replay`)
holds the trajectories that the Decision Transformer's `data/download_d4rl_datasets.py`
cut from the D4RL v2 files: `{env}-{medium,medium-replay,expert}-v2`, no random sets.
The Hub's parquet conversion of it (branch `refs/convert/parquet`, one file
`{env}-{dataset}-v2/train/0000.parquet` per dataset) has one row per trajectory:

  observations  list<list<float32>>  T x obs_dim
  actions       list<list<float32>>  T x act_dim
  rewards       list<float32>        T
  dones         list<bool>           T: D4RL's `terminals`, set at most on the last step

It keeps neither `timeouts` nor `next_observations`; the conversion rebuilds them. A
trajectory that ends without `done` ended at the time limit (`timeouts` is set on its
last step). `next_observations[t]` is `observations[t + 1]` inside a trajectory and NaN
on its last step, whose next observation the mirror does not hold. The DT's cutting
dropped each D4RL file's unfinished last episode, so a converted file has a few hundred
fewer transitions than the D4RL file it came from; the trajectories themselves are the same.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from modality_rl.data.schema import DatasetError, write_d4rl_hdf5
from modality_rl.data.sources import HubMirror
from modality_rl.envs import env_spec
from modality_rl.io import sha256_file

log = logging.getLogger(__name__)

MIRROR_COLUMNS = ("observations", "actions", "rewards", "dones")


def download_parquet(mirror: HubMirror, env: str, dataset: str) -> Path:
    """The mirror's parquet of (env, dataset) at the pinned revision, via the hub's cache.

    A file already in the cache (HF_HOME, HF_HUB_CACHE; `hf download` fills it on a
    machine with network) is used without any request: the revision is a commit hash.
    """
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(mirror.repo, mirror.filename(env, dataset), repo_type="dataset",
                                revision=mirror.revision))


def _flat_steps(column, name: str, lengths: np.ndarray, width: int | None,
                path: os.PathLike) -> np.ndarray:
    """One column of per-trajectory lists as a flat (steps,) or (steps, width) array."""
    import pyarrow.compute as pc

    if column.null_count:
        raise DatasetError(f"{path}: '{name}' has {column.null_count} missing trajectories")
    row_lengths = pc.list_value_length(column).to_numpy()
    if not np.array_equal(row_lengths, lengths):
        row = int(np.flatnonzero(row_lengths != lengths)[0])
        raise DatasetError(f"{path}: trajectory {row} has {row_lengths[row]} '{name}' but "
                           f"{lengths[row]} 'rewards'")
    values = pc.list_flatten(column)
    if width is not None:
        if values.null_count:
            raise DatasetError(f"{path}: '{name}' has {values.null_count} missing steps")
        widths = np.unique(pc.list_value_length(values).to_numpy())
        if widths.tolist() != [width]:
            raise DatasetError(f"{path}: '{name}' has steps of width {widths.tolist()}, "
                               f"the env needs {width}")
        values = pc.list_flatten(values)
    if values.null_count:
        raise DatasetError(f"{path}: '{name}' has {values.null_count} missing values")
    array = values.to_numpy()
    return array if width is None else array.reshape(-1, width)


def read_mirror_trajectories(path: str | os.PathLike, env: str) -> dict[str, np.ndarray]:
    """The flat D4RL v2 arrays of every trajectory in one of the mirror's parquet files."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    spec = env_spec(env)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(f"{path}: not a readable parquet file (truncated or corrupted?): "
                           f"{err}") from err
    missing = [name for name in MIRROR_COLUMNS if name not in table.column_names]
    if missing:
        raise DatasetError(f"{path}: missing the mirror's columns {missing} "
                           f"(it has {table.column_names})")
    if table["rewards"].null_count:
        raise DatasetError(
            f"{path}: 'rewards' has {table['rewards'].null_count} missing trajectories")
    lengths = pc.list_value_length(table["rewards"]).to_numpy()  # (trajectories,)
    if len(lengths) == 0 or (lengths == 0).any():
        raise DatasetError(f"{path}: no trajectories, or an empty one")
    widths = {"observations": spec.obs_dim, "actions": spec.act_dim}
    steps = {name: _flat_steps(table[name], name, lengths, widths.get(name), path)
             for name in MIRROR_COLUMNS}
    ends = np.cumsum(lengths) - 1  # the last step of each trajectory
    dones = steps["dones"].astype(bool)
    inside = dones.copy()
    inside[ends] = False
    if inside.any():
        raise DatasetError(f"{path}: 'dones' is set before the end of a trajectory "
                           f"({inside.sum()} steps): a row is not one whole trajectory")
    observations = steps["observations"].astype(np.float32)
    next_observations = np.full_like(observations, np.nan)
    next_observations[:-1] = observations[1:]
    next_observations[ends] = np.nan
    timeouts = np.zeros(len(dones), dtype=bool)
    timeouts[ends] = ~dones[ends]
    return {"observations": observations, "actions": steps["actions"].astype(np.float32),
            "rewards": steps["rewards"].astype(np.float32), "terminals": dones,
            "timeouts": timeouts, "next_observations": next_observations}


def write_mirror_dataset(mirror: HubMirror, env: str, dataset: str,
                         target: str | os.PathLike) -> None:
    """Download (env, dataset) from the mirror and write it as a D4RL v2 HDF5 at `target`."""
    parquet = download_parquet(mirror, env, dataset)
    try:
        arrays = read_mirror_trajectories(parquet, env)
    except DatasetError as err:
        raise DatasetError(f"{err} (the file is in the hub's cache at {parquet}: delete it to "
                           "download it again)") from err
    write_d4rl_hdf5(arrays, target, {
        "source": "hub", "repo": mirror.repo, "revision": mirror.revision,
        "file": mirror.filename(env, dataset), "parquet_sha256": sha256_file(parquet),
        "env": env, "dataset": dataset,
        "trajectories": int(np.count_nonzero(arrays["terminals"] | arrays["timeouts"])),
        "next_observations": "NaN on each trajectory's last step: the mirror does not hold it",
    })
    log.info("converted %s: %d transitions", mirror.describe(env, dataset),
             len(arrays["rewards"]))
