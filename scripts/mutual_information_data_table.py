"""MINE between data at the same step of the probe batch: I(s_t; a_t) and I(R_t; a_t)."""

import argparse
import json

import torch

from modality_rl.cli import setup_logging, write_tables
from modality_rl.data.probe_batch import load_probe_batch
from modality_rl.metrics.mine import MineConfig
from modality_rl.tables.mutual_information import data_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probe-batch", required=True)
    parser.add_argument("--coordinates", required=True, help="JSON: env, dataset")
    parser.add_argument("--mine", required=True, help="JSON of MineConfig fields")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    setup_logging()
    torch.set_num_threads(args.threads)
    table = data_table(load_probe_batch(args.probe_batch), json.loads(args.coordinates),
                       MineConfig(**json.loads(args.mine)))
    write_tables({"mutual_information_data": table}, [["mutual_information_data", args.out]])


if __name__ == "__main__":
    main()
