"""Pre-train one tiny offline backbone (language or image) and save it with save_pretrained."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.pretraining import PretrainConfig, pretrain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modality", required=True, choices=("language", "image"))
    parser.add_argument("--n-layer", type=int, required=True)
    parser.add_argument("--n-embd", type=int, required=True)
    parser.add_argument("--n-head", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--learning-rate", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--context-length", type=int, default=PretrainConfig.context_length)
    parser.add_argument("--image-size", type=int, default=PretrainConfig.image_size)
    parser.add_argument("--palette-size", type=int, default=PretrainConfig.palette_size)
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args()
    setup_logging()
    cfg = PretrainConfig(args.n_layer, args.n_embd, args.n_head, args.steps, args.batch_size,
                         args.learning_rate, args.seed, args.context_length, args.image_size,
                         args.palette_size)
    pretrain(args.modality, cfg, args.out)


if __name__ == "__main__":
    main()
