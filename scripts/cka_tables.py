"""CKA tables of one (env, dataset, seed): pre vs post, between models, within a model."""

import argparse
import json

from modality_rl.cli import add_table_arguments, inputs_by_model, setup_logging, write_tables
from modality_rl.tables.cka import cka_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_table_arguments(parser)
    parser.add_argument("--epochs", nargs=2, type=int, required=True, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--thresholds", nargs="*", type=float, default=[])
    parser.add_argument("--biased", action="store_true", help="biased HSIC (default: unbiased)")
    parser.add_argument("--seed", type=int, default=0,
                        help="analysis.cka.seed: the sample permutation of the cka_null floor")
    args = parser.parse_args()
    setup_logging()
    write_tables(cka_tables(inputs_by_model(args.input), json.loads(args.coordinates),
                            tuple(args.epochs), args.thresholds, debiased=not args.biased,
                            seed=args.seed),
                 args.out)


if __name__ == "__main__":
    main()
