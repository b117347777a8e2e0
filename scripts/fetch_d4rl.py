"""Provide one verified D4RL v2 file: copied from a local directory or downloaded."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.data.d4rl import fetch_d4rl_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--local-dir", required=True)
    parser.add_argument("--url", required=True, help="template with {env} and {dataset}")
    parser.add_argument("--checksums", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    fetch_d4rl_dataset(args.env, args.dataset, args.out, local_dir=args.local_dir,
                       url_template=args.url, checksums=args.checksums)


if __name__ == "__main__":
    main()
