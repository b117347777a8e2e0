"""Build a run's Decision Transformer from its JSON-able model settings (runs.run_settings)."""

from __future__ import annotations

import torch

from modality_rl.envs import env_spec
from modality_rl.models.backbones import (Dropout, RandomBodyConfig, block_swap_body,
                                          pretrained_body, random_body)
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.runs import WEIGHTS_OF, swapped_block


def build_decision_transformer(model: dict, env: str, seed: int, max_episode_steps: int = 1000,
                               attn_implementation: str = "eager") -> DecisionTransformer:
    """The run's model, initialised under `seed` so the same seed gives the same weights."""
    torch.manual_seed(seed)
    name = model["name"]
    dropout = Dropout(**model["dropout"])
    random_cfg = RandomBodyConfig(**model["random_body"])

    def load(kind: str):
        location = model["pretrained"][WEIGHTS_OF[kind]]
        return pretrained_body(kind, location["name_or_path"], dropout,
                               revision=location.get("revision"),
                               attn_implementation=attn_implementation)

    block = swapped_block(name)
    if block is not None:
        body = block_swap_body(random_cfg, load("gpt2"), block, dropout, attn_implementation)
    elif name == "random":
        body = random_body(random_cfg, dropout, attn_implementation)
    else:
        body = load(name)
    spec = env_spec(env)
    return DecisionTransformer(body, spec.obs_dim, spec.act_dim, max_episode_steps)
