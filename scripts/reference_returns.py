"""Write an env's reference returns for both normalised-score conventions."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.scores import compute_reference_returns, save_reference_returns


@dataclass(frozen=True, kw_only=True)
class ReferenceReturnsJob:
    env: str
    random: str | None  # the env's random-v2 dataset; none: the paper's convention is missing
    expert: str  # the env's expert-v2 dataset
    out: str


def main() -> None:
    job, _ = parse_job(ReferenceReturnsJob, __doc__)
    save_reference_returns(compute_reference_returns(job.env, job.random, job.expert), job.out)


if __name__ == "__main__":
    main()
