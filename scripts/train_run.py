"""Fine-tune one run (experiment, model, env, dataset, seed); resumes if it was killed."""

import argparse
import json

import torch

from modality_rl.cli import setup_logging
from modality_rl.devices import select_device
from modality_rl.models.factory import build_decision_transformer
from modality_rl.scores import load_reference_returns
from modality_rl.training import TrainConfig, Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", required=True, help="JSON from runs.run_settings")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--reference-returns", required=True)
    parser.add_argument("--work-dir", required=True, help="resumable state while running")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--checkpoints", required=True, help="output directory")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu"))
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    setup_logging()
    torch.set_num_threads(args.threads)
    settings = json.loads(args.settings)
    train = settings["train"]
    cfg = TrainConfig(**{**train, "checkpoint_epochs": tuple(train["checkpoint_epochs"]),
                         "eval_targets": tuple(train["eval_targets"]), "bf16": args.bf16})
    model = build_decision_transformer(settings["model"], cfg.env, cfg.seed,
                                       cfg.max_episode_steps)
    trainer = Trainer(model, cfg, args.dataset, load_reference_returns(args.reference_returns),
                      args.work_dir, select_device(args.device))
    trainer.run()
    trainer.publish(args.metrics, args.checkpoints)


if __name__ == "__main__":
    main()
