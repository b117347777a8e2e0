"""MINE tables of one (env, dataset, seed): hidden representation vs input and label."""

import argparse
import json

import torch

from modality_rl.cli import add_table_arguments, inputs_by_model, setup_logging, write_tables
from modality_rl.devices import select_device
from modality_rl.metrics.mine import MineConfig
from modality_rl.tables.mutual_information import hidden_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_table_arguments(parser)
    parser.add_argument("--epoch", type=int, required=True)
    parser.add_argument("--mine", required=True, help="JSON of MineConfig fields")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    setup_logging()
    torch.set_num_threads(args.threads)
    write_tables(hidden_tables(inputs_by_model(args.input), json.loads(args.coordinates),
                               args.epoch, MineConfig(**json.loads(args.mine)),
                               select_device(args.device)), args.out)


if __name__ == "__main__":
    main()
