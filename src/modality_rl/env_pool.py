"""Many copies of one environment, built once and stepped in worker processes.

`EnvPool` holds n environments of one task. With `workers` W >= 2 they are split into W
contiguous slices, each built and stepped by its own process (forked, so nothing is
imported again); with W = 0 or 1 they live in this process. Stepping is asynchronous:
`send` hands some environments their actions and returns at once, `receive` waits for
the oldest step sent. The caller can therefore compute one group's actions while
another group steps.

Workers are daemons, leave when this process dies (they check their parent every
second), and a worker that fails or dies raises a RuntimeError naming it here rather than
leaving the caller waiting.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections import deque
from dataclasses import dataclass

import numpy as np

from modality_rl.envs import make_env

PARENT_CHECK_S = 1.0


@dataclass(frozen=True)
class Transitions:
    """The result of stepping some environments, in the order their rows were sent."""
    observations: np.ndarray  # (m, obs_dim) float64
    rewards: np.ndarray  # (m,) float64
    terminated: np.ndarray  # (m,) bool
    truncated: np.ndarray  # (m,) bool

    @classmethod
    def concatenate(cls, parts: list[Transitions]) -> Transitions:
        return cls(*(np.concatenate([getattr(p, name) for p in parts])
                     for name in ("observations", "rewards", "terminated", "truncated")))


class _Envs:
    """One slice of the pool's environments, in a worker or in this process."""

    def __init__(self, env: str, seed: int, count: int, gym_id: str | None = None):
        self.envs = [make_env(env, seed, gym_id) for _ in range(count)]
        self.steps = 0  # env.step calls, for the count of steps actually taken

    def reset(self, seeds: list[int]) -> np.ndarray:
        return np.stack([env.reset(seed=seed)[0] for env, seed in zip(self.envs, seeds)])

    def step(self, local_rows: np.ndarray, actions: np.ndarray) -> Transitions:
        results = [self.envs[row].step(action) for row, action in zip(local_rows, actions)]
        self.steps += len(results)
        observations, rewards, terminated, truncated, _ = zip(*results)
        return Transitions(np.stack(observations), np.array(rewards, np.float64),
                           np.array(terminated, bool), np.array(truncated, bool))

    def step_count(self) -> int:
        return self.steps

    def close(self) -> None:
        for env in self.envs:
            env.close()


COMMANDS = ("reset", "step", "step_count")


def _serve(connection, parent_end, parent_pid: int, env: str, seed: int, count: int,
           gym_id: str | None) -> None:
    """A worker's loop: build the slice, then answer commands until told to close."""
    parent_end.close()
    envs = None
    try:
        envs = _Envs(env, seed, count, gym_id)
        connection.send(("ok", None))
        while True:
            while not connection.poll(PARENT_CHECK_S):
                if os.getppid() != parent_pid:
                    return
            command, *args = connection.recv()
            if command == "close":
                return
            connection.send(("ok", getattr(envs, command)(*args)))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return  # the parent has gone or is going
    except BaseException:  # noqa: BLE001 - any failure is reported, then the worker ends
        connection.send(("error", traceback.format_exc()))
    finally:
        if envs is not None:
            envs.close()


class EnvPool:
    def __init__(self, env: str, n: int, *, seed: int, workers: int = 0,
                 gym_id: str | None = None):
        """n environments made by `make_env(env, seed, gym_id)`, stepped by `workers`
        processes (0 or 1: in this process; more than n: n)."""
        if workers < 0:
            raise ValueError(f"workers (compute.train_threads - 1) must be >= 0, got {workers}")
        self.n = n
        self.workers = min(workers, n) if workers >= 2 else 0
        self.bounds = np.linspace(0, n, max(self.workers, 1) + 1).astype(int)  # slice edges
        self._pending: deque = deque()
        self._local: _Envs | None = None
        self.connections, self.processes = [], []
        if self.workers == 0:
            self._local = _Envs(env, seed, n, gym_id)
            return
        context = multiprocessing.get_context("fork")
        for lo, hi in zip(self.bounds[:-1], self.bounds[1:]):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_serve, daemon=True, name=f"env-pool-{lo}-{hi}",
                                      args=(child_end, parent_end, os.getpid(), env, seed,
                                            int(hi - lo), gym_id))
            process.start()
            child_end.close()
            self.connections.append(parent_end)
            self.processes.append(process)
        for k in range(self.workers):  # built: construction errors surface here
            self._answer(k)

    # -- commands ----------------------------------------------------------------------
    def reset(self, seeds: list[int]) -> np.ndarray:
        """Reset environment i with seeds[i]; (n, obs_dim) first observations."""
        if self._pending:
            raise RuntimeError("EnvPool.reset with steps still in flight")
        if self._local is not None:
            return self._local.reset(seeds)
        for k, (lo, hi) in enumerate(zip(self.bounds[:-1], self.bounds[1:])):
            self._command(k, "reset", list(seeds[lo:hi]))
        return np.concatenate([self._answer(k) for k in range(self.workers)])

    def send(self, rows: np.ndarray, actions: np.ndarray) -> None:
        """Start stepping environments `rows` (ascending) with `actions` (len(rows), act_dim)."""
        if self._local is not None:
            self._pending.append(self._local.step(rows, actions))
            return
        asked = []
        for k, (lo, hi) in enumerate(zip(self.bounds[:-1], self.bounds[1:])):
            mine = (rows >= lo) & (rows < hi)
            if mine.any():
                self._command(k, "step", rows[mine] - lo, actions[mine])
                asked.append(k)
        self._pending.append(asked)

    def receive(self) -> Transitions:
        """The result of the oldest `send` not yet received."""
        pending = self._pending.popleft()
        if self._local is not None:
            return pending
        return Transitions.concatenate([self._answer(k) for k in pending])

    def step_count(self) -> int:
        """env.step calls so far, counted where the environments step."""
        if self._local is not None:
            return self._local.step_count()
        for k in range(self.workers):
            self._command(k, "step_count")
        return sum(self._answer(k) for k in range(self.workers))

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None
        for connection in self.connections:
            try:
                connection.send(("close",))
            except OSError:
                pass  # that worker is already gone
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        for connection in self.connections:
            connection.close()
        self.connections, self.processes = [], []

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- pipes -------------------------------------------------------------------------
    def _describe(self, k: int) -> str:
        return f"environment worker {k} (envs {self.bounds[k]}..{self.bounds[k + 1] - 1})"

    def _command(self, k: int, command: str, *args) -> None:
        if not self.processes:
            raise RuntimeError("EnvPool is closed")
        try:
            self.connections[k].send((command, *args))
        except OSError:  # its end of the pipe is closed: it died
            self._died(k)

    def _answer(self, k: int):
        connection, process = self.connections[k], self.processes[k]
        while not connection.poll(PARENT_CHECK_S):
            if not process.is_alive():
                self._died(k)
        try:
            status, payload = connection.recv()
        except (EOFError, OSError):  # closed, or reset by the worker's death
            self._died(k)
        if status == "error":
            self._fail(f"{self._describe(k)} failed:\n{payload}")
        return payload

    def _died(self, k: int):
        """Raise for a worker that is gone, with the error it sent last if it sent one."""
        error = None
        try:
            while self.connections[k].poll():
                status, payload = self.connections[k].recv()
                error = payload if status == "error" else error
        except (EOFError, OSError):
            pass
        if error is not None:
            self._fail(f"{self._describe(k)} failed:\n{error}")
        self.processes[k].join(timeout=PARENT_CHECK_S)
        self._fail(f"{self._describe(k)} died with exit code {self.processes[k].exitcode}")

    def _fail(self, message: str):
        """Close the pool (its pipes are out of step now) and raise."""
        self._pending.clear()
        self.close()
        raise RuntimeError(message)
