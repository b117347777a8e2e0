"""Gather a table's partitions into results/tables/<table>.csv."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.tables import concatenate_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partitions", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    concatenate_tables(args.partitions, args.out)


if __name__ == "__main__":
    main()
