"""Provide one verified D4RL v2 file: copied from a local directory or downloaded."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.data.d4rl import fetch_d4rl_dataset


@dataclass(frozen=True, kw_only=True)
class FetchJob:
    env: str
    dataset: str  # medium, random or expert
    local_dir: str  # data.d4rl.local_dir: searched before downloading
    url: str  # data.d4rl.url: a template with {env} and {dataset}
    checksums: str  # data.d4rl.checksums: the sha256 list the file is checked against
    out: str


def main() -> None:
    job, _ = parse_job(FetchJob, __doc__)
    fetch_d4rl_dataset(job.env, job.dataset, job.out, local_dir=job.local_dir,
                       url_template=job.url, checksums=job.checksums)


if __name__ == "__main__":
    main()
