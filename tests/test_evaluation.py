"""Batched evaluation gives the paper's sequential loop's returns for the same policy and seeds.

A batch of N and a batch of 1 may round the same matmul differently (~1e-8 relative);
along a long MuJoCo rollout such differences compound, so the horizons here are short
enough that agreement to 1e-5 checks the semantics, not the rounding.
"""

import numpy as np
import pytest
import torch

from modality_rl.evaluation import EvalConfig, evaluate_batched, evaluate_sequential
from modality_rl.models.backbones import Dropout, RandomBodyConfig, random_body
from modality_rl.models.decision_transformer import DecisionTransformer

pytestmark = pytest.mark.slow


def policy(state_dim, act_dim, seed=0):
    torch.manual_seed(seed)
    return DecisionTransformer(random_body(RandomBodyConfig(2, 32, 1, "relu"), Dropout()),
                               state_dim, act_dim)


@pytest.mark.parametrize("env, state_dim, act_dim, context_length, steps", [
    ("hopper", 11, 3, 20, 60),  # episodes end by termination at different steps
    ("halfcheetah", 17, 6, 5, 15),  # never terminates; the window slides past K
])
def test_batched_matches_sequential(env, state_dim, act_dim, context_length, steps):
    rng = np.random.default_rng(0)
    cfg = EvalConfig(env, (3600.0, 1800.0), episodes=4, context_length=context_length,
                     state_mean=rng.normal(size=state_dim),
                     state_std=rng.uniform(0.5, 2, state_dim),
                     seed=11, max_episode_steps=steps)
    model = policy(state_dim, act_dim)
    batched, sequential = evaluate_batched(model, cfg), evaluate_sequential(model, cfg)
    assert batched.returns.shape == (2, 4)
    np.testing.assert_array_equal(batched.lengths, sequential.lengths)
    np.testing.assert_allclose(batched.returns, sequential.returns, rtol=1e-5)
    # Episodes differ by seed, and the returns-to-go target reaches the policy.
    assert len(np.unique(batched.returns[0].round(6))) == 4
    assert not np.allclose(batched.returns[0], batched.returns[1])
    if env == "hopper":
        assert batched.lengths.min() < steps  # some episodes terminated early
