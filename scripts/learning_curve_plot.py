"""One env's main-experiment learning curves, mean normalised score per model, for dvc plots."""

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from modality_rl.cli import parse_job
from modality_rl.tables import write_table
from modality_rl.tables.learning_curves import read_curves
from modality_rl.tables.summaries import mean_score_curves


@dataclass(frozen=True, kw_only=True)
class LearningCurvePlotJob:
    curves: dict[str, int]  # {learning_curves partition of the env's main runs: last epoch}
    convention: Literal["paper", "d4rl"]  # of the normalised scores plotted
    out: str


def main() -> None:
    job, _ = parse_job(LearningCurvePlotJob, __doc__)
    curves = pd.concat([read_curves(path, last) for path, last in job.curves.items()])
    write_table(mean_score_curves(curves, job.convention), job.out)


if __name__ == "__main__":
    main()
