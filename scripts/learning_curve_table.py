"""Learning curves of one (experiment, env, dataset, seed) as a tidy table."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.tables import write_table
from modality_rl.tables.learning_curves import learning_curve_table


@dataclass(frozen=True, kw_only=True)
class LearningCurveJob:
    metrics: dict[str, str]  # {model: the run's metrics.csv}
    epochs: dict[str, int]  # {model: the run's last epoch}: its metrics.csv has 0..that
    coordinates: dict[str, str | int]  # experiment, env, dataset, seed
    out: str


def main() -> None:
    job, _ = parse_job(LearningCurveJob, __doc__)
    write_table(learning_curve_table(job.metrics, job.coordinates, job.epochs), job.out)


if __name__ == "__main__":
    main()
