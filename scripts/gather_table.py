"""Gather a table's partitions into results/tables/<table>.csv."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.tables import concatenate_tables


@dataclass(frozen=True, kw_only=True)
class GatherJob:
    partitions: tuple[str, ...]  # partition CSVs, in order
    out: str


def main() -> None:
    job, _ = parse_job(GatherJob, __doc__)
    concatenate_tables(list(job.partitions), job.out)


if __name__ == "__main__":
    main()
