"""One env's main-experiment learning curves, mean normalised score per model, for dvc plots."""

import argparse
import logging

import pandas as pd

from modality_rl.cli import setup_logging
from modality_rl.figures.summaries import mean_score_curves
from modality_rl.tables import write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--curves", nargs="+", required=True, help="learning_curves partitions")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging()
    wide = mean_score_curves(pd.concat([pd.read_csv(p) for p in args.curves]))
    write_table(wide, args.out)
    logging.info("%d epochs x %d models from %d partitions to %s", len(wide),
                 len(wide.columns) - 1, len(args.curves), args.out)


if __name__ == "__main__":
    main()
