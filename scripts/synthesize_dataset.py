"""Roll out one synthetic dataset (medium, expert or random) in the D4RL v2 schema."""

from dataclasses import dataclass
from typing import Literal

from modality_rl.cli import parse_job
from modality_rl.data.synthetic import RolloutConfig, rollout_seed, synthesize_dataset


@dataclass(frozen=True, kw_only=True)
class SynthesisJob:
    env: str
    dataset: Literal["medium", "expert", "random"]
    seed: int  # data.synthetic.seed; each dataset rolls out from its own seed derived from it
    transitions: int  # data.synthetic.transitions.<dataset>
    medium_action_noise: float  # data.synthetic.medium_action_noise
    policy: str | None  # the behaviour policy zip (none for random)
    out: str


def main() -> None:
    job, _ = parse_job(SynthesisJob, __doc__)
    cfg = RolloutConfig(env=job.env, dataset=job.dataset, seed=rollout_seed(job.seed, job.dataset),
                        transitions=job.transitions, medium_action_noise=job.medium_action_noise)
    synthesize_dataset(cfg, job.policy, job.out)


if __name__ == "__main__":
    main()
