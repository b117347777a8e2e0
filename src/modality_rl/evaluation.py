"""Evaluation rollouts with returns-to-go conditioning, as the paper's evaluate_episode_rtg.

Returns-to-go start at target / scale and drop by reward / scale after each step; the
model sees the last K steps, left-padded with zeros and masked (the released get_action
pads states, actions, returns-to-go and timesteps with zeros); the action slot of the
current step is a zero placeholder; an episode ends at termination or after
`max_episode_steps` steps.

`evaluate_batched` runs all episodes of all targets at once in a Gymnasium vector env
with one forward pass per step. `evaluate_sequential` is the paper's loop, one episode
and one forward pass at a time; it is kept as the reference the batched version is
tested against. Episode i of every target is seeded with `seed + i` in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modality_rl.envs import env_spec, make_env


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    env: str
    target_returns: tuple[float, ...]
    episodes: int  # per target
    context_length: int
    state_mean: np.ndarray
    state_std: np.ndarray
    seed: int
    max_episode_steps: int = 1000
    returns_scale: float = 1000.0


@dataclass(frozen=True)
class EvalResult:
    returns: np.ndarray  # (targets, episodes)
    lengths: np.ndarray  # (targets, episodes)


class _Histories:
    """The last K steps of N synchronised episodes, as model inputs."""

    def __init__(self, n: int, cfg: EvalConfig, device: torch.device):
        spec = env_spec(cfg.env)
        k = cfg.context_length
        self.cfg, self.device = cfg, device
        self.states = np.zeros((n, k, spec.obs_dim), np.float32)
        self.actions = np.zeros((n, k, spec.act_dim), np.float32)
        self.returns_to_go = np.zeros((n, k, 1), np.float32)
        self.timesteps = np.zeros((n, k), np.int64)
        self.mask = np.zeros((n, k), np.int64)

    def push(self, observations: np.ndarray, returns_to_go: np.ndarray, t: int) -> None:
        """Append step t (its action slot zero) and drop the oldest step."""
        for array in (self.states, self.actions, self.returns_to_go, self.timesteps, self.mask):
            array[:, :-1] = array[:, 1:].copy()
        self.states[:, -1] = (observations - self.cfg.state_mean) / self.cfg.state_std
        self.actions[:, -1] = 0.0
        self.returns_to_go[:, -1, 0] = returns_to_go
        self.timesteps[:, -1] = t
        self.mask[:, -1] = 1

    def act(self, model: torch.nn.Module) -> np.ndarray:
        """Predict every episode's current action and write it into its action slot."""
        tensors = [torch.from_numpy(a).to(self.device) for a in
                   (self.states, self.actions, self.returns_to_go, self.timesteps, self.mask)]
        with torch.no_grad():
            predicted = model(*tensors[:4], attention_mask=tensors[4])
        action = predicted[:, -1].float().cpu().numpy()
        self.actions[:, -1] = action
        return action


def evaluate_batched(model: torch.nn.Module, cfg: EvalConfig,
                     device: torch.device | str = "cpu") -> EvalResult:
    import gymnasium as gym

    targets, episodes = len(cfg.target_returns), cfg.episodes
    n = targets * episodes
    envs = gym.vector.SyncVectorEnv([lambda: make_env(cfg.env, cfg.seed) for _ in range(n)])
    observations, _ = envs.reset(seed=[cfg.seed + i % episodes for i in range(n)])
    histories = _Histories(n, cfg, torch.device(device))
    targets_array = np.asarray(cfg.target_returns, np.float64)
    returns_to_go = np.repeat(targets_array, episodes) / cfg.returns_scale
    returns, lengths = np.zeros(n), np.zeros(n, np.int64)
    active = np.ones(n, bool)
    model.eval()
    for t in range(cfg.max_episode_steps):
        histories.push(observations, returns_to_go, t)
        actions = histories.act(model)
        # Finished episodes are auto-reset by the vector env; their results are ignored.
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        returns[active] += rewards[active]
        lengths[active] += 1
        returns_to_go -= rewards / cfg.returns_scale
        active &= ~(terminated | truncated)
        if not active.any():
            break
    envs.close()
    return EvalResult(returns.reshape(targets, episodes), lengths.reshape(targets, episodes))


def evaluate_sequential(model: torch.nn.Module, cfg: EvalConfig,
                        device: torch.device | str = "cpu") -> EvalResult:
    returns = np.zeros((len(cfg.target_returns), cfg.episodes))
    lengths = np.zeros((len(cfg.target_returns), cfg.episodes), np.int64)
    model.eval()
    for target_index, target in enumerate(cfg.target_returns):
        for episode in range(cfg.episodes):
            env = make_env(cfg.env, cfg.seed)
            observation, _ = env.reset(seed=cfg.seed + episode)
            history = _Histories(1, cfg, torch.device(device))
            return_to_go = target / cfg.returns_scale
            for t in range(cfg.max_episode_steps):
                history.push(observation[None], np.array([return_to_go]), t)
                action = history.act(model)[0]
                observation, reward, terminated, truncated, _ = env.step(action)
                returns[target_index, episode] += reward
                lengths[target_index, episode] += 1
                return_to_go -= reward / cfg.returns_scale
                if terminated or truncated:
                    break
            env.close()
    return EvalResult(returns, lengths)
