"""The three MuJoCo tasks of the paper and the facts every stage needs about them.

D4RL v2 was collected with mujoco-py `-v3` environments. Gymnasium's `-v4` environments
use the same model files through the maintained `mujoco` bindings, so they are the
environments we roll out and evaluate in.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
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
        EnvSpec("hopper", "Hopper-v4", 11, 3, -20.272305, 3234.3),
        EnvSpec("halfcheetah", "HalfCheetah-v4", 17, 6, -280.178953, 12135.0),
        EnvSpec("walker2d", "Walker2d-v4", 17, 6, 1.629008, 4592.3),
    )
}


def env_spec(env: str) -> EnvSpec:
    try:
        return ENV_SPECS[env]
    except KeyError:
        raise ValueError(f"unknown env {env!r}; expected one of {sorted(ENV_SPECS)}") from None


def make_env(env: str, seed: int):
    """A seeded Gymnasium environment with the 1000-step limit D4RL used."""
    import gymnasium as gym

    with warnings.catch_warnings():
        # -v4 is chosen on purpose (the D4RL v2 dynamics); its "out of date" notice is noise.
        warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
        environment = gym.make(env_spec(env).gym_id, max_episode_steps=1000)
    environment.reset(seed=seed)
    environment.action_space.seed(seed)
    return environment
