"""Write an env's reference returns for both normalised-score conventions."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.scores import compute_reference_returns, save_reference_returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--random", help="the env's random-v2 dataset; without it the paper's "
                        "convention is recorded as missing")
    parser.add_argument("--expert", required=True, help="the env's expert-v2 dataset")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    save_reference_returns(compute_reference_returns(args.env, args.random, args.expert), args.out)


if __name__ == "__main__":
    main()
