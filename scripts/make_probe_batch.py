"""Sample and save the fixed probe batch of one (env, dataset)."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.data.probe_batch import make_probe_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="D4RL v2 HDF5 file")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--context-length", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--max-episode-steps", type=int, required=True)
    parser.add_argument("--returns-scale", type=float, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    make_probe_batch(args.dataset, args.out, size=args.size, context_length=args.context_length,
                     seed=args.seed, max_episode_steps=args.max_episode_steps,
                     returns_scale=args.returns_scale)


if __name__ == "__main__":
    main()
