"""Gradient tables of one (env, dataset, seed), read from the epoch's probe dumps."""

import argparse
import json

from modality_rl.cli import add_table_arguments, inputs_by_model, setup_logging, write_tables
from modality_rl.tables.gradients import gradient_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_table_arguments(parser)
    parser.add_argument("--epoch", type=int, required=True)
    args = parser.parse_args()
    setup_logging()
    write_tables(gradient_tables(inputs_by_model(args.input), json.loads(args.coordinates),
                                 args.epoch), args.out)


if __name__ == "__main__":
    main()
