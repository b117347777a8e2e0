"""Table 1, 2 or 4 of the paper from learning-curve partitions, as CSV and Markdown."""

import argparse
import logging

import pandas as pd

from modality_rl.cli import setup_logging
from modality_rl.figures.paper_tables import PAPER_TABLES, markdown, paper_table
from modality_rl.io import atomic_path
from modality_rl.tables import write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", type=int, required=True, choices=sorted(PAPER_TABLES))
    parser.add_argument("--curves", nargs="+", required=True, help="learning_curves partitions")
    parser.add_argument("--csv", required=True)
    parser.add_argument("--md", required=True)
    args = parser.parse_args()
    setup_logging()
    table = PAPER_TABLES[args.table]
    long = paper_table(table, pd.concat([pd.read_csv(p) for p in args.curves]))
    write_table(long, args.csv)
    with atomic_path(args.md) as tmp:
        tmp.write_text(markdown(table, long))
    logging.info("Table %d from %d partitions: %d rows to %s and %s", args.table,
                 len(args.curves), len(long), args.csv, args.md)


if __name__ == "__main__":
    main()
