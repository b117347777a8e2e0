"""Provide one verified D4RL v2 file: a local copy, or the configured sources in order."""

import argparse
import json

from modality_rl.cli import setup_logging
from modality_rl.data.d4rl import fetch_d4rl_dataset
from modality_rl.data.sources import D4RLSources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--d4rl", required=True, help="JSON of the config section data.d4rl")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    fetch_d4rl_dataset(args.env, args.dataset, args.out,
                       sources=D4RLSources.from_config(json.loads(args.d4rl)))


if __name__ == "__main__":
    main()
