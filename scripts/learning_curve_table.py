"""Learning curves of one (experiment, env, dataset, seed) as a tidy table."""

import argparse
import json

from modality_rl.cli import setup_logging, write_tables
from modality_rl.tables.learning_curves import learning_curve_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", nargs=2, action="append", required=True,
                        metavar=("MODEL", "CSV"), help="a run's metrics.csv (repeatable)")
    parser.add_argument("--coordinates", required=True, help="JSON: experiment, env, dataset, seed")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    table = learning_curve_table(dict(args.metrics), json.loads(args.coordinates))
    write_tables({"learning_curves": table}, [["learning_curves", args.out]])


if __name__ == "__main__":
    main()
