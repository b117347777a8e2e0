"""Provide one verified D4RL v2 file: a local copy, or the configured sources in order."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.data.d4rl import fetch_d4rl_dataset
from modality_rl.data.sources import D4RLSources


@dataclass(frozen=True, kw_only=True)
class FetchJob:
    env: str
    dataset: str  # medium, random or expert
    d4rl: D4RLSources  # config key data.d4rl: local_dir, the sources in order, checksums
    out: str


def main() -> None:
    job, _ = parse_job(FetchJob, __doc__)
    fetch_d4rl_dataset(job.env, job.dataset, job.out, sources=job.d4rl)


if __name__ == "__main__":
    main()
