"""What the benchmarks share: the model-size flags and a seeded random-body DT."""

import argparse

import torch

from modality_rl.envs import env_spec
from modality_rl.models.backbones import Dropout, RandomBodyConfig, random_body
from modality_rl.models.decision_transformer import DecisionTransformer


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--context-length", type=int, default=20)
    parser.add_argument("--n-layer", type=int, default=3)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)


def random_decision_transformer(args: argparse.Namespace) -> DecisionTransformer:
    """A DT on `args.env` with a random body of the flagged size, on `args.threads` threads."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = env_spec(args.env)
    body = random_body(RandomBodyConfig(args.n_layer, args.n_embd, 1, "relu"), Dropout())
    return DecisionTransformer(body, spec.obs_dim, spec.act_dim)
