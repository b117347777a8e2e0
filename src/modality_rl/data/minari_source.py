"""Minari as a data source (`data.source: minari`): where D4RL's datasets moved, and
NOT the paper's data.

A dataset `data.minari.id` (`mujoco/{env}/{dataset}-v0`) is loaded with the `minari`
package from MINARI_DATASETS_PATH (default ~/.minari/datasets), or downloaded from its
remote (MINARI_REMOTE, default the Hugging Face Hub's farama-minari) where
`data.minari.download` allows, then converted to the pipeline's D4RL v2 layout. The
converted file keeps what the pipeline needs later: the Gymnasium environment Minari
recovers for it (MuJoCo v5, where runs are evaluated), Minari's reference scores
(`ref_min_score`, `ref_max_score`: the normalised scores' `d4rl` convention, where the
dataset has them) and its provenance. Minari's MuJoCo datasets were collected by other
policies than D4RL's, in v5 environments; every log, table, claim and report built on
them says so (NOT_THE_PAPERS_DATA).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from modality_rl.data.schema import DatasetError, verify_d4rl_file, write_d4rl_hdf5
from modality_rl.io import atomic_path

log = logging.getLogger(__name__)

NOT_THE_PAPERS_DATA = ("Minari's datasets are NOT the paper's data: other behaviour "
                       "policies, collected and evaluated in Gymnasium MuJoCo v5, not D4RL's "
                       "mujoco-py v3 datasets")


@dataclass(frozen=True, kw_only=True)
class MinariSource:
    """config key `data.minari`."""
    id: str  # the dataset id template, with {env} and {dataset}
    datasets: tuple[str, ...]  # the datasets the Minari group holds
    download: bool  # fetch from the remote when MINARI_DATASETS_PATH lacks it

    def dataset_id(self, env: str, dataset: str) -> str:
        return self.id.format(env=env, dataset=dataset)


class MinariUnavailableError(DatasetError):
    """Minari has the dataset neither locally nor (where allowed) on its remote."""


def episodes_as_d4rl(episodes) -> dict[str, np.ndarray]:
    """Minari episodes (observations T + 1, actions, rewards, terminations and truncations
    T) as the flat D4RL v2 arrays; an episode that ends neither terminated nor truncated
    (cut by the collector) is marked a timeout, so trajectories split where it ends."""
    columns: dict[str, list] = {key: [] for key in ("observations", "actions", "rewards",
                                                    "terminals", "timeouts",
                                                    "next_observations")}
    for episode in episodes:
        observations = np.asarray(episode.observations, dtype=np.float32)
        timeouts = np.asarray(episode.truncations, dtype=bool).copy()
        terminals = np.asarray(episode.terminations, dtype=bool)
        timeouts[-1] |= not terminals[-1]
        for key, value in zip(columns, (observations[:-1], episode.actions, episode.rewards,
                                        terminals, timeouts, observations[1:])):
            columns[key].append(np.asarray(value))
    arrays = {key: np.concatenate(values) for key, values in columns.items()}
    for key in ("observations", "actions", "rewards", "next_observations"):
        arrays[key] = arrays[key].astype(np.float32)
    return arrays


def fetch_minari_dataset(source: MinariSource, env: str, dataset: str,
                         target: str | os.PathLike) -> int:
    """Load (or download) a Minari dataset, convert it and write it verified at `target`;
    return its transition count."""
    import minari

    dataset_id = source.dataset_id(env, dataset)
    root = os.environ.get("MINARI_DATASETS_PATH", "~/.minari/datasets")
    try:
        loaded = minari.load_dataset(dataset_id, download=source.download)
    except (FileNotFoundError, ValueError, OSError) as err:
        remote = os.environ.get("MINARI_REMOTE", "hf://farama-minari")
        raise MinariUnavailableError(
            f"cannot load Minari dataset {dataset_id!r} ({type(err).__name__}: {err}): it is "
            f"not in {root} (MINARI_DATASETS_PATH)"
            + (f" and its remote {remote} did not serve it" if source.download else
               " and data.minari.download is false")
            + f". Download it on a machine with network (`minari download {dataset_id}`) "
            f"and copy {root} here, or set data.source: synthetic.") from err
    metadata = loaded.storage.metadata
    arrays = episodes_as_d4rl(loaded.iterate_episodes())
    attrs = {"source": "minari", "env": env, "dataset": dataset, "minari_id": dataset_id,
             "minari_version": str(metadata.get("minari_version", "")),
             "gym_id": loaded.spec.env_spec.id, "note": NOT_THE_PAPERS_DATA}
    for key in ("ref_min_score", "ref_max_score"):
        if metadata.get(key) is not None:
            attrs[key] = float(metadata[key])
    with atomic_path(target) as tmp:
        write_d4rl_hdf5(arrays, tmp, attrs)
        n = verify_d4rl_file(tmp, env)
    log.warning("%s: %d transitions of %s, evaluated in %s. %s", target, n, dataset_id,
                attrs["gym_id"], NOT_THE_PAPERS_DATA)
    return n
