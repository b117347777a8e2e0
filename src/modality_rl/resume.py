"""contract: one run, one trainer, one state. A run's work directory while it trains.

`RunWorkspace` is entered by the trainer before it reads or writes anything of its run:

- it takes an exclusive lock (`<work>.lock` beside the work directory, holding the
  trainer's PID) for the trainer's whole life; a second trainer of the same run stops at
  once with a message naming the PID that holds it;
- it removes the temporary files and directories a killed trainer left behind;
- it keeps the resumable state (`state.pt`, after every epoch) stamped with the run's
  fingerprint: a hash of its settings and of the source of the code its numbers depend
  on. A state with another fingerprint, or one whose epoch checkpoints are missing, is
  set aside (renamed to `<work>.set-aside`) with a log line that says why, and the run
  starts fresh: it is never resumed silently.
"""

from __future__ import annotations

import logging
import os
import pickle
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from modality_rl import paths
from modality_rl.io import ExclusiveLock, LockHeldError, remove_temporaries, write_torch

log = logging.getLogger(__name__)


class RunLockedError(RuntimeError):
    """Another trainer holds the run's work directory."""


@dataclass(kw_only=True)
class RunState:
    """Everything a resumed run needs; saved after every epoch."""
    fingerprint: str  # of the settings and code that produced it
    epoch: int
    model: dict
    optimizer: dict
    scheduler: dict
    sampler_rng: dict
    python_rng: object
    numpy_rng: object
    torch_rng: torch.Tensor
    cuda_rng: list[torch.Tensor] | None  # every GPU's generator (dropout draws from it)
    metrics: list[dict] = field(default_factory=list)


def random_states(sampler_rng: np.random.Generator) -> dict:
    """Every random generator a run draws from, as RunState fields."""
    return {"sampler_rng": sampler_rng.bit_generator.state, "python_rng": random.getstate(),
            "numpy_rng": np.random.get_state(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def restore_random_states(state: RunState, sampler_rng: np.random.Generator) -> None:
    sampler_rng.bit_generator.state = state.sampler_rng
    random.setstate(state.python_rng)
    np.random.set_state(state.numpy_rng)
    torch.set_rng_state(state.torch_rng)
    if state.cuda_rng is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state.cuda_rng)


class RunWorkspace:
    def __init__(self, work_dir: str | os.PathLike, fingerprint: str):
        self.work_dir = Path(work_dir)
        self.fingerprint = fingerprint
        self.lock = ExclusiveLock(self.work_dir.with_name(f"{self.work_dir.name}.lock"))

    @property
    def state_path(self) -> Path:
        return self.work_dir / "state.pt"

    def checkpoint_path(self, epoch: int) -> Path:
        return Path(paths.checkpoint(str(self.work_dir), epoch))

    # -- the lock --------------------------------------------------------------------
    def __enter__(self) -> RunWorkspace:
        try:
            self.lock.acquire()
        except LockHeldError as err:
            raise RunLockedError(
                f"another trainer is training this run: {err}. Wait for it to finish, or stop "
                "it if its Snakemake is gone, then rerun; do not delete the work directory "
                "while it runs.") from None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for leftover in (*remove_temporaries(self.work_dir.parent),
                         *remove_temporaries(self.work_dir)):
            log.info("removed %s, left behind by a trainer that was stopped", leftover)
        return self

    def __exit__(self, *exc) -> None:
        self.lock.release()

    # -- the state -------------------------------------------------------------------
    def save(self, state: RunState) -> None:
        write_torch(vars(state), self.state_path)  # shallow: asdict would deep-copy tensors

    def load(self, checkpoint_epochs: tuple[int, ...]) -> RunState | None:
        """The saved state if it belongs to this run's settings and code and every epoch
        checkpoint it implies is there; else None, after setting the directory aside."""
        if not self.state_path.exists():
            return None
        try:
            state = RunState(**torch.load(self.state_path, weights_only=False))
        except (EOFError, RuntimeError, TypeError, pickle.UnpicklingError) as err:
            self.set_aside(f"it cannot be read ({type(err).__name__}: {err})")
            return None
        missing = [self.checkpoint_path(e).name for e in checkpoint_epochs
                   if e <= state.epoch and not self.checkpoint_path(e).exists()]
        if state.fingerprint != self.fingerprint:
            reason = ("it was saved under other settings or code (fingerprint "
                      f"{state.fingerprint[:12]}, this run's is {self.fingerprint[:12]})")
        elif missing:
            reason = f"its checkpoints {missing} are missing"
        else:
            return state
        self.set_aside(reason)
        return None

    def set_aside(self, reason: str) -> None:
        aside = self.work_dir.with_name(f"{self.work_dir.name}.set-aside")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(self.work_dir, aside)
        self.work_dir.mkdir()
        log.warning("not resuming from %s: %s. Set it aside as %s; starting fresh.",
                    self.state_path, reason, aside)

    def clear(self) -> None:
        """After publishing: drop the state, the epoch checkpoints, what was set aside and
        the lock file (the lock itself is held until the workspace is left)."""
        shutil.rmtree(self.work_dir)
        shutil.rmtree(self.work_dir.with_name(f"{self.work_dir.name}.set-aside"),
                      ignore_errors=True)
        self.lock.path.unlink(missing_ok=True)
