"""The three MuJoCo tasks of the paper and the facts every stage needs about them.

D4RL v2 was collected with mujoco-py `-v3` environments. Gymnasium's `-v4` environments
use the same model files through the maintained `mujoco` bindings, so they are the
environments we roll out and evaluate in.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class EnvSpec:
    name: str
    gym_id: str
    obs_dim: int
    act_dim: int
    # D4RL's reference scores (d4rl/infos.py) for the D4RL normalised-score convention.
    d4rl_random_score: float
    d4rl_expert_score: float


ENV_SPECS: dict[str, EnvSpec] = {
    spec.name: spec
    for spec in (
        EnvSpec(name="hopper", gym_id="Hopper-v4", obs_dim=11, act_dim=3,
                d4rl_random_score=-20.272305, d4rl_expert_score=3234.3),
        EnvSpec(name="halfcheetah", gym_id="HalfCheetah-v4", obs_dim=17, act_dim=6,
                d4rl_random_score=-280.178953, d4rl_expert_score=12135.0),
        EnvSpec(name="walker2d", gym_id="Walker2d-v4", obs_dim=17, act_dim=6,
                d4rl_random_score=1.629008, d4rl_expert_score=4592.3),
    )
}


def env_spec(env: str) -> EnvSpec:
    try:
        return ENV_SPECS[env]
    except KeyError:
        raise ValueError(f"unknown env {env!r}; expected one of {sorted(ENV_SPECS)}") from None


def make_env(env: str, seed: int, gym_id: str | None = None):
    """A seeded Gymnasium environment with the 1000-step limit D4RL used: the env's -v4
    (D4RL's dynamics), or `gym_id` (the v5 environment Minari recovers for its data)."""
    import gymnasium as gym

    with warnings.catch_warnings():
        # -v4 is chosen on purpose (the D4RL v2 dynamics); its "out of date" notice is noise.
        warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
        environment = gym.make(gym_id or env_spec(env).gym_id, max_episode_steps=1000)
    environment.reset(seed=seed)
    environment.action_space.seed(seed)
    return environment
