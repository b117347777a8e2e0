"""Offline stand-in for D4RL: datasets rolled out in real MuJoCo by a SAC behaviour policy.

D4RL's medium set comes from a partly trained SAC agent; here a SAC agent
(stable-baselines3) is trained in the Gymnasium `-v4` environment for a configurable
number of steps, then rolled out:

- `medium`: the SAC policy's mean action plus Gaussian exploration noise;
- `expert`: the same policy without noise (the best policy we have);
- `random`: uniform random actions;
- `medium-replay` and `full-replay`, as D4RL's: the replay buffer of the SAC agent's
  training, every transition it collected (it is trained again, with the same settings
  and seed): full-replay all of its training, medium-replay until the mean return of its
  last ten training episodes reaches the medium dataset's mean episode return (D4RL: until
  the policy reaches the medium level), or all of it if it never does.

(`medium-expert` is stitched from medium and expert, as D4RL's: modality_rl.data.datasets.)

Random and expert exist so that the paper's normalised score (which uses the mean
returns of the random and expert datasets) works unchanged. Files follow the D4RL v2
schema; the last transition is marked as a timeout when the transition budget, not the
environment, ended its episode.
"""

from __future__ import annotations

import io
import logging
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm, trange

from modality_rl.data.schema import verify_d4rl_file, write_d4rl_hdf5
from modality_rl.data.trajectories import split_trajectories
from modality_rl.envs import make_env
from modality_rl.io import atomic_path
from modality_rl.seeding import seed_everything

log = logging.getLogger(__name__)

SYNTHETIC_DATASETS = ("medium", "expert", "random")


@dataclass(frozen=True, kw_only=True)
class BehaviourPolicyConfig:
    """config key `data.synthetic.behaviour_policy`: the SAC agent's training."""
    total_steps: int
    learning_starts: int
    batch_size: int
    hidden_sizes: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class RolloutConfig:
    env: str
    dataset: str  # one of SYNTHETIC_DATASETS
    seed: int
    transitions: int
    medium_action_noise: float


def _progress_callback(total_steps: int):
    from stable_baselines3.common.callbacks import BaseCallback

    class TqdmCallback(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = tqdm(total=total_steps, desc="SAC behaviour policy", mininterval=5)

        def _on_step(self) -> bool:
            self.bar.update(1)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return TqdmCallback()


def _sac_agent(cfg: BehaviourPolicyConfig, *, env: str, seed: int):
    """The behaviour policy's SAC, untrained, logging nowhere (SB3's default logger makes
    an empty /tmp/SB3-<time> folder per agent)."""
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.logger import Logger

    # SB3's small networks run fastest single-threaded, and parallel jobs do not contend.
    torch.set_num_threads(1)
    agent = SAC("MlpPolicy", make_env(env, seed), seed=seed, verbose=0,
                learning_starts=cfg.learning_starts, batch_size=cfg.batch_size,
                policy_kwargs={"net_arch": list(cfg.hidden_sizes)})
    agent.set_logger(Logger(folder=None, output_formats=[]))
    return agent


def train_behaviour_policy(cfg: BehaviourPolicyConfig, *, env: str, seed: int,
                           target: str | os.PathLike) -> None:
    """Train SAC in the real environment and save it (stable-baselines3 zip) at `target`."""
    agent = _sac_agent(cfg, env=env, seed=seed)
    agent.learn(cfg.total_steps, callback=_progress_callback(cfg.total_steps))
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        agent.save(f)


LEVEL_EPISODES = 10  # medium-replay's level: the mean return of this many last episodes


def _replay_recorder(total_steps: int, level: float | None):
    """A callback that records every transition SAC collects, and (given a level) stops
    training once the last LEVEL_EPISODES training episodes average at least `level`."""
    from stable_baselines3.common.callbacks import BaseCallback

    class ReplayRecorder(BaseCallback):
        def _on_training_start(self) -> None:
            self.columns = {k: [] for k in ("observations", "actions", "rewards", "terminals",
                                            "timeouts", "next_observations")}
            self.returns, self.episode_return = [], 0.0
            self.bar = tqdm(total=total_steps, desc="SAC replay buffer", mininterval=5)

        def _on_step(self) -> bool:
            # Called after env.step and before SB3 moves _last_obs on to the new observation.
            info, done = self.locals["infos"][0], bool(self.locals["dones"][0])
            truncated = bool(info.get("TimeLimit.truncated", False))
            reward = float(self.locals["rewards"][0])
            next_obs = info["terminal_observation"] if done else self.locals["new_obs"][0]
            for key, value in zip(self.columns, (
                    self.model._last_obs[0], self.locals["actions"][0], reward,
                    done and not truncated, truncated, next_obs)):
                self.columns[key].append(value)
            self.episode_return += reward
            self.bar.update(1)
            if done:
                self.returns.append(self.episode_return)
                self.episode_return = 0.0
            recent = self.returns[-LEVEL_EPISODES:]
            reached = (level is not None and len(recent) == LEVEL_EPISODES
                       and float(np.mean(recent)) >= level)
            return not reached

        def _on_training_end(self) -> None:
            self.bar.close()

    return ReplayRecorder()


def record_replay(cfg: BehaviourPolicyConfig, *, env: str, seed: int, dataset: str,
                  medium_level: float | None, target: str | os.PathLike) -> dict:
    """Train the behaviour policy's SAC again (its settings and seed) and write every
    transition it collects as a D4RL v2 file: all of training, or until its training
    episodes reach `medium_level` (medium-replay)."""
    import gymnasium
    import mujoco
    agent = _sac_agent(cfg, env=env, seed=seed)
    recorder = _replay_recorder(cfg.total_steps, medium_level)
    agent.learn(cfg.total_steps, callback=recorder)
    arrays = {key: np.asarray(values, dtype=np.float32)
              for key, values in recorder.columns.items()}
    arrays["terminals"] = arrays["terminals"].astype(bool)
    arrays["timeouts"] = arrays["timeouts"].astype(bool)
    arrays["timeouts"][-1] |= not arrays["terminals"][-1]  # the buffer ends an episode
    reached = len(arrays["rewards"]) < cfg.total_steps
    attrs = {"source": "synthetic", "env": env, "dataset": dataset, "seed": seed,
             "medium_level": medium_level if medium_level is not None else "none",
             "provenance": ("the SAC behaviour policy's replay buffer, "
                            + ("until its training episodes reached the medium level"
                               if reached else "all of its training")),
             "gymnasium_version": gymnasium.__version__, "mujoco_version": mujoco.__version__}
    with atomic_path(target) as tmp:
        write_d4rl_hdf5(arrays, tmp, attrs)
        verify_d4rl_file(tmp, env)
    summary = {"transitions": len(arrays["rewards"]), "episodes": len(recorder.returns),
               "reached_medium_level": reached}
    log.info("%s %s: %s", env, dataset, summary)
    return summary


def rollout_seed(seed: int, dataset: str) -> int:
    """Distinct, reproducible seeds for the three datasets of one behaviour policy."""
    return int(np.random.SeedSequence([seed, zlib.crc32(dataset.encode())]).generate_state(1)[0])


def _rollout_policy(cfg: RolloutConfig, policy_path: Path | None, env,
                    rng: np.random.Generator) -> Callable:
    if cfg.dataset == "random":
        return lambda obs: env.action_space.sample()
    from stable_baselines3 import SAC

    if policy_path is None:
        raise ValueError(f"the {cfg.dataset} dataset needs a behaviour policy file")
    with open(policy_path, "rb") as f:
        agent = SAC.load(io.BytesIO(f.read()), device="cpu")
    noise = cfg.medium_action_noise if cfg.dataset == "medium" else 0.0
    low, high = env.action_space.low, env.action_space.high

    def act(obs: np.ndarray) -> np.ndarray:
        action, _ = agent.predict(obs, deterministic=True)
        return np.clip(action + noise * rng.standard_normal(action.shape), low, high)

    return act


def collect_transitions(cfg: RolloutConfig, policy_path: Path | None) -> dict[str, np.ndarray]:
    """Roll the dataset's policy out for exactly `cfg.transitions` steps."""
    import torch

    torch.set_num_threads(1)
    rng = seed_everything(cfg.seed)
    env = make_env(cfg.env, cfg.seed)
    act = _rollout_policy(cfg, policy_path, env, rng)
    columns: dict[str, list] = {k: [] for k in
                                ("observations", "actions", "rewards", "terminals", "timeouts",
                                 "next_observations")}
    obs, _ = env.reset(seed=cfg.seed)
    for _ in trange(cfg.transitions, desc=f"{cfg.env} {cfg.dataset} rollouts", mininterval=5):
        action = act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for key, value in zip(columns, (obs, action, reward, terminated, truncated, next_obs)):
            columns[key].append(value)
        obs = env.reset()[0] if terminated or truncated else next_obs
    arrays = {key: np.asarray(values, dtype=np.float32) for key, values in columns.items()}
    arrays["terminals"] = arrays["terminals"].astype(bool)
    arrays["timeouts"] = arrays["timeouts"].astype(bool)
    arrays["timeouts"][-1] |= not arrays["terminals"][-1]
    return arrays


def synthesize_dataset(cfg: RolloutConfig, policy_path: str | os.PathLike | None,
                       target: str | os.PathLike) -> dict[str, float]:
    """Roll out and write one synthetic dataset; return summary statistics for the log."""
    import gymnasium
    import mujoco

    arrays = collect_transitions(cfg, Path(policy_path) if policy_path else None)
    returns = np.array([t.total_return for t in split_trajectories(arrays)])
    attrs = {
        "source": "synthetic", "env": cfg.env, "dataset": cfg.dataset, "seed": cfg.seed,
        "medium_action_noise": cfg.medium_action_noise if cfg.dataset == "medium" else 0.0,
        "gymnasium_version": gymnasium.__version__, "mujoco_version": mujoco.__version__,
    }
    with atomic_path(target) as tmp:
        write_d4rl_hdf5(arrays, tmp, attrs)
        verify_d4rl_file(tmp, cfg.env)
    summary = {"transitions": len(arrays["rewards"]), "episodes": len(returns),
               "mean_return": float(returns.mean()), "std_return": float(returns.std())}
    log.info("%s %s: %s", cfg.env, cfg.dataset, summary)
    return summary
