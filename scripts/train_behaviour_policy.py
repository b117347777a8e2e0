"""Train the SAC behaviour policy that rolls out the synthetic datasets."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.data.synthetic import BehaviourPolicyConfig, train_behaviour_policy


@dataclass(frozen=True, kw_only=True)
class BehaviourPolicyJob:
    env: str
    seed: int  # data.synthetic.seed
    policy: BehaviourPolicyConfig  # data.synthetic.behaviour_policy
    out: str  # stable-baselines3 zip


def main() -> None:
    job, _ = parse_job(BehaviourPolicyJob, __doc__)
    train_behaviour_policy(job.policy, env=job.env, seed=job.seed, target=job.out)


if __name__ == "__main__":
    main()
