"""Evaluation rollouts with returns-to-go conditioning, as the paper's evaluate_episode_rtg.

Returns-to-go start at target / scale and drop by reward / scale after each step; the
model sees the last K steps, left-padded with zeros and masked (the released get_action
pads states, actions, returns-to-go and timesteps with zeros); the action slot of the
current step is a zero placeholder; an episode ends at termination or after
`max_episode_steps` steps.

`Evaluator` runs all episodes of all targets at once: its environments are built once
(per run) and reset with the same seeds at every evaluation, stepped by worker
processes (`modality_rl.env_pool`), and finished episodes leave both the forward pass
and the stepping. `evaluate_sequential` is the paper's loop, one episode and one
forward pass at a time; it is kept as the reference the Evaluator is tested against.
Episode i of every target is seeded with `seed + i` in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modality_rl.env_pool import EnvPool
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
    gym_id: str | None = None  # the environment its dataset names (Minari's v5); else -v4


@dataclass(frozen=True)
class EvalResult:
    returns: np.ndarray  # (targets, episodes)
    lengths: np.ndarray  # (targets, episodes)


class _Histories:
    """The last K steps of N episodes, as model inputs; `rows` selects some of them."""

    def __init__(self, n: int, cfg: EvalConfig, device: torch.device):
        spec = env_spec(cfg.env)
        k = cfg.context_length
        self.cfg, self.device = cfg, device
        self.states = np.zeros((n, k, spec.obs_dim), np.float32)
        self.actions = np.zeros((n, k, spec.act_dim), np.float32)
        self.returns_to_go = np.zeros((n, k, 1), np.float32)
        self.timesteps = np.zeros((n, k), np.int64)
        self.mask = np.zeros((n, k), np.int64)

    def push(self, observations: np.ndarray, returns_to_go: np.ndarray, timesteps,
             rows: np.ndarray | slice = slice(None)) -> None:
        """Append the current step (its action slot zero) and drop the oldest step."""
        for array in (self.states, self.actions, self.returns_to_go, self.timesteps, self.mask):
            array[rows, :-1] = array[rows, 1:].copy()
        self.states[rows, -1] = (observations - self.cfg.state_mean) / self.cfg.state_std
        self.actions[rows, -1] = 0.0
        self.returns_to_go[rows, -1, 0] = returns_to_go
        self.timesteps[rows, -1] = timesteps
        self.mask[rows, -1] = 1

    def act(self, model: torch.nn.Module, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Predict the episodes' current actions and write them into their action slots."""
        tensors = [torch.from_numpy(a[rows]).to(self.device) for a in
                   (self.states, self.actions, self.returns_to_go, self.timesteps, self.mask)]
        with torch.no_grad():
            predicted = model(*tensors[:4], attention_mask=tensors[4])
        action = predicted[:, -1].float().cpu().numpy()
        self.actions[rows, -1] = action
        return action


class Evaluator:
    """One run's evaluations: environments built once, reset to the same seeds each time.

        with Evaluator(cfg, workers=8) as evaluator:
            result = evaluator.evaluate(model, device)   # as often as needed

    With workers (and `overlap`), the episodes are split into two halves, interleaved so
    that each worker holds some of both: while one half steps in the workers, the model
    computes the other half's actions. Results do not depend on the number of workers or
    on the split, up to the rounding of matmuls over batches of different sizes.
    """

    def __init__(self, cfg: EvalConfig, *, workers: int = 0, overlap: bool = True):
        self.cfg = cfg
        n = len(cfg.target_returns) * cfg.episodes
        self.seeds = [cfg.seed + i % cfg.episodes for i in range(n)]
        self.pool = EnvPool(cfg.env, n, seed=cfg.seed, workers=workers, gym_id=cfg.gym_id)
        # In-process stepping cannot overlap the forward pass: one group, all episodes.
        halves = 2 if overlap and self.pool.workers else 1
        self.groups = [np.arange(n)[half::halves] for half in range(min(halves, n))]

    def evaluate(self, model: torch.nn.Module, device: torch.device | str = "cpu"
                 ) -> EvalResult:
        cfg, n = self.cfg, len(self.seeds)
        observations = self.pool.reset(self.seeds)  # (n, obs_dim)
        histories = _Histories(n, cfg, torch.device(device))
        returns_to_go = np.repeat(np.asarray(cfg.target_returns, np.float64),
                                  cfg.episodes) / cfg.returns_scale
        returns, lengths = np.zeros(n), np.zeros(n, np.int64)
        live = np.ones(n, bool)
        model.eval()

        def act(group: np.ndarray) -> np.ndarray | None:
            """Act for the group's live episodes and send their step; None if none is live."""
            rows = group[live[group]]
            if len(rows) == 0:
                return None
            # The timestep of an episode's current step is the number of steps it took.
            histories.push(observations[rows], returns_to_go[rows], lengths[rows], rows)
            self.pool.send(rows, histories.act(model, rows))
            return rows

        def finish(rows: np.ndarray) -> None:
            step = self.pool.receive()
            observations[rows] = step.observations
            returns[rows] += step.rewards
            lengths[rows] += 1
            returns_to_go[rows] -= step.rewards / cfg.returns_scale
            ended = step.terminated | step.truncated | (lengths[rows] == cfg.max_episode_steps)
            live[rows] = ~ended

        in_flight = [act(group) for group in self.groups]
        while any(rows is not None for rows in in_flight):
            for i, rows in enumerate(in_flight):
                if rows is not None:
                    finish(rows)
                    in_flight[i] = act(self.groups[i])
        targets = len(cfg.target_returns)
        return EvalResult(returns.reshape(targets, -1), lengths.reshape(targets, -1))

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def evaluate_batched(model: torch.nn.Module, cfg: EvalConfig,
                     device: torch.device | str = "cpu", *, workers: int = 0) -> EvalResult:
    """One evaluation with environments built for it; use an Evaluator for repeated ones."""
    with Evaluator(cfg, workers=workers) as evaluator:
        return evaluator.evaluate(model, device)


def evaluate_sequential(model: torch.nn.Module, cfg: EvalConfig,
                        device: torch.device | str = "cpu") -> EvalResult:
    returns = np.zeros((len(cfg.target_returns), cfg.episodes))
    lengths = np.zeros((len(cfg.target_returns), cfg.episodes), np.int64)
    model.eval()
    for target_index, target in enumerate(cfg.target_returns):
        for episode in range(cfg.episodes):
            env = make_env(cfg.env, cfg.seed, cfg.gym_id)
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
