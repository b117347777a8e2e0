"""Sample and save the fixed probe batch of one (env, dataset)."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.data.probe_batch import ProbeBatchConfig, make_probe_batch


@dataclass(frozen=True, kw_only=True)
class ProbeBatchJob:
    dataset: str  # D4RL v2 HDF5 file
    probe: ProbeBatchConfig  # config key probe
    max_episode_steps: int  # training.max_episode_steps: timesteps are capped as in training
    returns_scale: float  # training.returns_scale
    out: str


def main() -> None:
    job, _ = parse_job(ProbeBatchJob, __doc__)
    make_probe_batch(job.dataset, job.out, job.probe, max_episode_steps=job.max_episode_steps,
                     returns_scale=job.returns_scale)


if __name__ == "__main__":
    main()
