"""The Evaluator gives the paper's sequential loop's returns for the same policy and seeds,
with and without stepping workers, evaluation after evaluation; finished episodes are not
stepped further; a failing worker raises instead of hanging.

A batch of N and a batch of 1 may round the same matmul differently (~1e-8 relative);
along a long MuJoCo rollout such differences compound, so the horizons here are short
enough that agreement to 1e-5 checks the semantics, not the rounding.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import modality_rl.env_pool
from helpers import tiny_decision_transformer
from modality_rl.envs import make_env
from modality_rl.evaluation import EvalConfig, Evaluator, evaluate_batched, evaluate_sequential

pytestmark = pytest.mark.slow


def policy(env, seed=0):
    return tiny_decision_transformer(n_layer=2, n_embd=32, env=env, seed=seed).eval()


def eval_config(env, state_dim, context_length, steps, episodes=4):
    rng = np.random.default_rng(0)
    return EvalConfig(env=env, target_returns=(3600.0, 1800.0), episodes=episodes,
                      context_length=context_length, state_mean=rng.normal(size=state_dim),
                      state_std=rng.uniform(0.5, 2, state_dim), seed=11, max_episode_steps=steps)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("env, state_dim, act_dim, context_length, steps", [
    ("hopper", 11, 3, 20, 60),  # episodes end by termination at different steps
    ("halfcheetah", 17, 6, 5, 15),  # never terminates; the window slides past K
])
def test_evaluator_matches_sequential(env, state_dim, act_dim, context_length, steps, workers):
    cfg = eval_config(env, state_dim, context_length, steps)
    model = policy(env)
    sequential = evaluate_sequential(model, cfg)
    with Evaluator(cfg, workers=workers) as evaluator:
        first = evaluator.evaluate(model)
        steps_taken = evaluator.pool.step_count()
        second = evaluator.evaluate(model)  # the same envs, reset to the same seeds
    assert first.returns.shape == (2, 4)
    np.testing.assert_array_equal(first.lengths, sequential.lengths)
    np.testing.assert_allclose(first.returns, sequential.returns, rtol=1e-5)
    np.testing.assert_array_equal(second.returns, first.returns)
    # Every episode was stepped exactly its length: finished ones are not stepped further.
    assert steps_taken == first.lengths.sum()
    # Episodes differ by seed, and the returns-to-go target reaches the policy.
    assert len(np.unique(first.returns[0].round(6))) == 4
    assert not np.allclose(first.returns[0], first.returns[1])
    if env == "hopper":
        assert first.lengths.min() < steps  # some episodes terminated early
        assert steps_taken < first.lengths.size * first.lengths.max()


def test_one_shot_evaluation_equals_a_reused_evaluator():
    cfg = eval_config("hopper", 11, 3, 30, episodes=3)
    model = policy("hopper", seed=1)
    with Evaluator(cfg, workers=3, overlap=False) as evaluator:
        evaluator.evaluate(policy("hopper", seed=2))  # another model first: nothing carries over
        reused = evaluator.evaluate(model)
    once = evaluate_batched(model, cfg)
    np.testing.assert_array_equal(reused.lengths, once.lengths)
    np.testing.assert_allclose(reused.returns, once.returns, rtol=1e-5)


def test_killed_worker_raises_naming_it():
    cfg = eval_config("hopper", 11, 3, 10, episodes=2)
    evaluator = Evaluator(cfg, workers=2)
    assert all(p.daemon for p in evaluator.pool.processes)
    os.kill(evaluator.pool.processes[1].pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"environment worker 1 \(envs 2..3\) died"):
        evaluator.evaluate(policy("hopper"))
    assert not evaluator.pool.processes  # the pool closed itself
    with pytest.raises(RuntimeError, match="closed"):
        evaluator.evaluate(policy("hopper"))


class BrokenEnv:
    """An env whose third step fails."""

    def __init__(self, env):
        self.env, self.steps = env, 0

    def reset(self, **kwargs):
        return self.env.reset(**kwargs)

    def step(self, action):
        self.steps += 1
        if self.steps == 3:
            raise ValueError("simulated instability")
        return self.env.step(action)

    def close(self):
        self.env.close()


def test_failing_worker_raises_with_its_traceback(monkeypatch):
    # Workers are forked, so they build their envs with the patched make_env.
    monkeypatch.setattr(modality_rl.env_pool, "make_env",
                        lambda env, seed, gym_id=None: BrokenEnv(make_env(env, seed, gym_id)))
    cfg = eval_config("halfcheetah", 17, 5, 10, episodes=2)
    with Evaluator(cfg, workers=2) as evaluator:
        with pytest.raises(RuntimeError, match="(?s)worker 0.*failed.*simulated instability"):
            evaluator.evaluate(policy("halfcheetah"))


def test_workers_leave_when_their_parent_is_killed(tmp_path):
    script = ("import os, time; from modality_rl.env_pool import EnvPool; "
              "pool = EnvPool('hopper', 4, seed=0, workers=2); "
              "print(*[p.pid for p in pool.processes], flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(alive(pid) for pid in workers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30  # a liveness bound, not a timing: they check every 1 s
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers)


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its reaper)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
