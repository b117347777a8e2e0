"""Probe one checkpoint of a run: activations, attention and (optionally) gradients to HDF5."""

import argparse
import json

import torch

from modality_rl.cli import setup_logging
from modality_rl.devices import select_device
from modality_rl.probes.gradients import GradientConfig
from modality_rl.probes.run import probe_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", required=True, help="JSON from runs.run_settings")
    parser.add_argument("--run", required=True, help="JSON: experiment, model, env, dataset, seed")
    parser.add_argument("--epoch", type=int, required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--probe-batch", required=True)
    parser.add_argument("--gradients", help="JSON GradientConfig fields; omit for no gradients")
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu"))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    setup_logging()
    torch.set_num_threads(args.threads)
    gradients = GradientConfig(**json.loads(args.gradients)) if args.gradients else None
    probe_checkpoint(json.loads(args.settings), json.loads(args.run), args.epoch,
                     args.checkpoint, args.probe_batch, args.out, gradients,
                     select_device(args.device))


if __name__ == "__main__":
    main()
