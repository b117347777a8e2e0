"""Table 1, 2 or 4 of the paper from learning-curve partitions: CSV, Markdown and JSON."""

import argparse
import json
import logging

import pandas as pd

from modality_rl.cli import setup_logging
from modality_rl.figures.paper_tables import PAPER_TABLES, markdown, paper_table
from modality_rl.figures.summaries import table_metrics
from modality_rl.io import atomic_path
from modality_rl.scores import load_reference_returns
from modality_rl.tables import write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", type=int, required=True, choices=sorted(PAPER_TABLES))
    parser.add_argument("--curves", nargs="+", required=True, help="learning_curves partitions")
    parser.add_argument("--reference-returns", nargs="+", required=True,
                        help="every env's reference returns (they say which convention is missing)")
    parser.add_argument("--csv", required=True)
    parser.add_argument("--md", required=True)
    parser.add_argument("--json", required=True, help="the numbers alone, for dvc metrics")
    args = parser.parse_args()
    setup_logging()
    table = PAPER_TABLES[args.table]
    missing = {refs.env: refs.missing
               for refs in map(load_reference_returns, args.reference_returns)}
    long = paper_table(table, pd.concat([pd.read_csv(p) for p in args.curves]), missing)
    write_table(long, args.csv)
    with atomic_path(args.md) as tmp:
        tmp.write_text(markdown(table, long))
    with atomic_path(args.json) as tmp:
        tmp.write_text(json.dumps(table_metrics(long), indent=2) + "\n")
    logging.info("Table %d from %d partitions: %d rows to %s, %s and %s", args.table,
                 len(args.curves), len(long), args.csv, args.md, args.json)


if __name__ == "__main__":
    main()
