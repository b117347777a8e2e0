"""Roll out one synthetic dataset (medium, expert or random) in the D4RL v2 schema."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.data.synthetic import SYNTHETIC_DATASETS, RolloutConfig, rollout_seed, synthesize_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--dataset", required=True, choices=SYNTHETIC_DATASETS)
    parser.add_argument("--seed", type=int, required=True, help="data.synthetic.seed")
    parser.add_argument("--transitions", type=int, required=True)
    parser.add_argument("--medium-action-noise", type=float, required=True)
    parser.add_argument("--policy", help="behaviour policy zip (not used for random)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    cfg = RolloutConfig(args.env, args.dataset, rollout_seed(args.seed, args.dataset),
                        args.transitions, args.medium_action_noise)
    synthesize_dataset(cfg, args.policy, args.out)


if __name__ == "__main__":
    main()
