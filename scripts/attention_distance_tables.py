"""Attention distance and its gap to epoch 0, per block and sample, of one (env, dataset, seed)."""

import argparse
import json

from modality_rl.cli import add_table_arguments, inputs_by_model, setup_logging, write_tables
from modality_rl.tables.attention import attention_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_table_arguments(parser)
    parser.add_argument("--epochs", nargs="+", type=int, required=True,
                        help="epoch 0 first, then the epochs compared with it")
    args = parser.parse_args()
    setup_logging()
    write_tables(attention_tables(inputs_by_model(args.input), json.loads(args.coordinates),
                                  args.epochs), args.out)


if __name__ == "__main__":
    main()
