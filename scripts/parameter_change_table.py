"""Parameter change of one (env, dataset, seed): L2 and cosine per block parameter set."""

import argparse
import json

from modality_rl.cli import add_table_arguments, inputs_by_model, setup_logging, write_tables
from modality_rl.tables.parameter_change import parameter_change_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_table_arguments(parser)
    parser.add_argument("--epochs", nargs=2, type=int, required=True, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    setup_logging()
    table = parameter_change_table(inputs_by_model(args.input), json.loads(args.coordinates),
                                   tuple(args.epochs))
    write_tables({"parameter_change": table}, args.out)


if __name__ == "__main__":
    main()
