"""One env's main-experiment learning curves, mean normalised score per model, for dvc plots."""

from dataclasses import dataclass

import pandas as pd

from modality_rl.cli import parse_job
from modality_rl.tables import write_table
from modality_rl.tables.summaries import mean_score_curves


@dataclass(frozen=True, kw_only=True)
class LearningCurvePlotJob:
    curves: tuple[str, ...]  # learning_curves partitions of the env's main runs
    out: str


def main() -> None:
    job, _ = parse_job(LearningCurvePlotJob, __doc__)
    write_table(mean_score_curves(pd.concat([pd.read_csv(p) for p in job.curves])), job.out)


if __name__ == "__main__":
    main()
