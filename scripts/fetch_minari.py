"""Provide one Minari dataset in the D4RL v2 layout: loaded from MINARI_DATASETS_PATH or
downloaded from Minari's remote, converted, verified. NOT the paper's data."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.data.minari_source import MinariSource, fetch_minari_dataset


@dataclass(frozen=True, kw_only=True)
class MinariJob:
    env: str
    dataset: str  # medium, expert, ...: its id is data.minari.id filled
    minari: MinariSource  # config key data.minari
    out: str


def main() -> None:
    job, _ = parse_job(MinariJob, __doc__)
    fetch_minari_dataset(job.minari, job.env, job.dataset, job.out)


if __name__ == "__main__":
    main()
