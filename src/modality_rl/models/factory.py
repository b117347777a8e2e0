"""Build a run's Decision Transformer from its model settings (runs.run_settings' `model`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from modality_rl.bodies import swapped_block
from modality_rl.envs import env_spec
from modality_rl.models.backbones import (Dropout, PretrainedLocation, RandomBodyConfig,
                                          block_swap_body, pretrained_body, random_body)
from modality_rl.models.decision_transformer import DecisionTransformer


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    name: str  # a backbone's name, or <donor>_block{b} for block swap
    # The randomly initialised body: the model's own (source random), block swap's
    # receiver, else backbones.random (unused by a pre-trained model).
    random_body: RandomBodyConfig
    pretrained: dict[str, PretrainedLocation]  # the weights it loads, by backbones.<key>

    @property
    def is_pretrained(self) -> bool:
        """Its own body carries pre-trained weights (a block-swap body is random)."""
        return self.name in self.pretrained


def build_decision_transformer(model: ModelConfig, dropout: Dropout, env: str, seed: int,
                               max_episode_steps: int = 1000,
                               attn_implementation: str = "eager") -> DecisionTransformer:
    """The run's model, initialised under `seed` so the same seed gives the same weights."""
    torch.manual_seed(seed)

    def load(name: str):
        return pretrained_body(name, model.pretrained[name], dropout,
                               attn_implementation=attn_implementation)

    swap = swapped_block(model.name)
    if swap is not None:
        donor, block = swap
        body = block_swap_body(model.random_body, load(donor), block, dropout,
                               attn_implementation)
    elif model.is_pretrained:
        body = load(model.name)
    else:
        body = random_body(model.random_body, dropout, attn_implementation)
    spec = env_spec(env)
    return DecisionTransformer(body, spec.obs_dim, spec.act_dim, max_episode_steps)
