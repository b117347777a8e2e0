"""contract: datasets. The D4RL locomotion datasets a configuration may train on
(`datasets:`, a grid axis like `envs` and `seeds`), and each one's name in every place
that names it. Imports nothing heavy: the Snakefile plans with it.

D4RL spells a dataset with underscores in its file names (`hopper_medium_replay-v2.hdf5`,
also the name a `local_dir` copy must have) and with hyphens in its dataset ids
(`hopper-medium-replay-v2`), which are also the Hugging Face mirror's folder names. The
pipeline's own files use the hyphenated name (`results/data/d4rl/hopper_medium-replay-v2
.hdf5`), so the paper's `medium` files keep their names.

How a dataset is made where no source serves it as a file:

- `medium-expert` is D4RL's medium and expert datasets stitched (D4RL's
  scripts/generation/mujoco/stitch_dataset.py: the first cut at its last episode's end,
  then the second, at most 2,000,000 transitions), so it is stitched the same way here,
  medium first, and its provenance says so;
- `medium-replay` and `full-replay` are a behaviour policy's replay buffer (until it
  reaches the medium level, or all of its training): synthetic data only.
"""

from __future__ import annotations

from dataclasses import dataclass

D4RL_DATASETS = ("random", "medium", "medium-replay", "medium-expert", "expert", "full-replay")
PAPER_DATASET = "medium"  # the paper's: its files, figures and tables keep their names
STITCHED = {"medium-expert": ("medium", "expert")}
STITCH_MAX_TRANSITIONS = 2_000_000  # stitch_dataset.py's --maxlen
REPLAYS = ("medium-replay", "full-replay")
ROLLOUTS = ("random", "medium", "expert")  # what a synthetic source rolls out


@dataclass(frozen=True)
class DatasetNames:
    """Every name of one (env, dataset) pair."""

    env: str
    dataset: str

    @property
    def token(self) -> str:
        """D4RL's spelling inside file names: medium_replay."""
        return self.dataset.replace("-", "_")

    @property
    def d4rl_file(self) -> str:
        """The release's file name, and the name of a local_dir copy."""
        return f"{self.env}_{self.token}-v2.hdf5"

    @property
    def d4rl_id(self) -> str:
        """D4RL's dataset id (its gym environment name)."""
        return f"{self.env}-{self.dataset}-v2"

    @property
    def mirror_folder(self) -> str:
        """The Hugging Face mirror's folder of it (edbeeching/decision_transformer_gym_replay)."""
        return f"{self.env}-{self.dataset}-v2"


def dataset_names(env: str, dataset: str) -> DatasetNames:
    if dataset not in D4RL_DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; D4RL's locomotion datasets are "
                         f"{list(D4RL_DATASETS)}")
    return DatasetNames(env, dataset)


def ingredients(dataset: str) -> tuple[str, ...]:
    """The datasets a stitched one is made of (empty: it is made or served itself)."""
    return STITCHED.get(dataset, ())
