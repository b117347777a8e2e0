"""Probe a run's checkpoints: activations, attention and (at one epoch) gradients, one HDF5 each."""

import argparse
import json
from pathlib import Path

import torch
from tqdm import tqdm

from modality_rl.cli import setup_logging
from modality_rl.devices import select_device
from modality_rl.probes.gradients import GradientConfig
from modality_rl.probes.run import probe_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", required=True, help="JSON from runs.run_settings")
    parser.add_argument("--run", required=True, help="JSON: experiment, model, env, dataset, seed")
    parser.add_argument("--epochs", type=int, nargs="+", required=True)
    parser.add_argument("--checkpoints", required=True, help="the run's checkpoint directory")
    parser.add_argument("--probe-batch", required=True)
    parser.add_argument("--gradient-epoch", type=int, help="the epoch that gets the gradient probe")
    parser.add_argument("--gradients", help="JSON GradientConfig fields; omit for no gradients")
    parser.add_argument("--out", required=True, help="directory for epoch<E>.hdf5")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu"))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    setup_logging()
    torch.set_num_threads(args.threads)
    if (args.gradients is None) != (args.gradient_epoch is None):
        parser.error("--gradients and --gradient-epoch go together")
    gradients = GradientConfig(**json.loads(args.gradients)) if args.gradients else None
    settings, run, device = json.loads(args.settings), json.loads(args.run), select_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for epoch in tqdm(args.epochs, desc="probe epochs"):
        probe_checkpoint(settings, run, epoch, Path(args.checkpoints) / f"epoch{epoch}.pt",
                         args.probe_batch, out / f"epoch{epoch}.hdf5",
                         gradients if epoch == args.gradient_epoch else None, device)


if __name__ == "__main__":
    main()
