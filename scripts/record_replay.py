"""Record a synthetic replay dataset (medium-replay or full-replay): the SAC behaviour
policy's training again, every transition it collects, in the D4RL v2 schema."""

from dataclasses import dataclass
from typing import Literal

from modality_rl.cli import parse_job
from modality_rl.data.synthetic import BehaviourPolicyConfig, record_replay
from modality_rl.data.trajectories import mean_episode_return


@dataclass(frozen=True, kw_only=True)
class ReplayJob:
    env: str
    dataset: Literal["medium-replay", "full-replay"]
    seed: int  # data.synthetic.seed: the behaviour policy's
    policy: BehaviourPolicyConfig  # data.synthetic.behaviour_policy
    medium: str | None  # medium-replay: the medium dataset, whose level it stops at
    out: str


def main() -> None:
    job, _ = parse_job(ReplayJob, __doc__)
    level = mean_episode_return(job.medium) if job.medium else None
    record_replay(job.policy, env=job.env, seed=job.seed, dataset=job.dataset,
                  medium_level=level, target=job.out)


if __name__ == "__main__":
    main()
