"""Train the SAC behaviour policy that rolls out the synthetic datasets."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.data.synthetic import BehaviourPolicyConfig, train_behaviour_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--total-steps", type=int, required=True)
    parser.add_argument("--learning-starts", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--hidden-sizes", type=int, nargs="+", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    cfg = BehaviourPolicyConfig(args.env, args.seed, args.total_steps, args.learning_starts,
                                args.batch_size, tuple(args.hidden_sizes))
    train_behaviour_policy(cfg, args.out)


if __name__ == "__main__":
    main()
