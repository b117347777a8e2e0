"""Build a run's Decision Transformer from its model settings (runs.run_settings' `model`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from modality_rl.envs import env_spec
from modality_rl.models.backbones import (Dropout, RandomBodyConfig, block_swap_body,
                                          pretrained_body, random_body)
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.runs import WEIGHTS_OF, swapped_block


@dataclass(frozen=True, kw_only=True)
class PretrainedLocation:
    """Where `backbones.<key>` loads from: a hub id and revision, or a directory."""
    name_or_path: str
    revision: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    name: str  # random, gpt2, igpt, igpt_native or gpt2_block{b}
    random_body: RandomBodyConfig  # config key backbones.random
    pretrained: dict[str, PretrainedLocation]  # the weights it needs, by backbones.<key>


def build_decision_transformer(model: ModelConfig, dropout: Dropout, env: str, seed: int,
                               max_episode_steps: int = 1000,
                               attn_implementation: str = "eager") -> DecisionTransformer:
    """The run's model, initialised under `seed` so the same seed gives the same weights."""
    torch.manual_seed(seed)

    def load(kind: str):
        location = model.pretrained[WEIGHTS_OF[kind]]
        return pretrained_body(kind, location.name_or_path, dropout,
                               revision=location.revision,
                               attn_implementation=attn_implementation)

    block = swapped_block(model.name)
    if block is not None:
        body = block_swap_body(model.random_body, load("gpt2"), block, dropout,
                               attn_implementation)
    elif model.name == "random":
        body = random_body(model.random_body, dropout, attn_implementation)
    else:
        body = load(model.name)
    spec = env_spec(env)
    return DecisionTransformer(body, spec.obs_dim, spec.act_dim, max_episode_steps)
