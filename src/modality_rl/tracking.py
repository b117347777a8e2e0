"""Live learning curves of a training run: TensorBoard event files, and optionally Weights &
Biases (the released code's `--log_to_wandb`).

TensorBoard because it works offline with no account, reads a directory tree live (so
`tensorboard --logdir results/runs` shows every run of the DAG while it trains, grouped by
the run's path: experiment/model/env-dataset/seed), and is what torch writes natively.
DVCLive would version the curves with DVC, but metrics.csv is already the versioned record;
the event files are a view of it, so DVC and git ignore them.

Every step's values sit on one axis, the training step: the loss, learning rate and
gradient norms (before and after clipping) every `every_steps` steps, and at step
`epoch * steps_per_epoch` each evaluation's row of metrics.csv, value for value (epoch 0,
before any update, at step 0). Tracking changes no number a run computes, so its settings
reach the trainer as a runtime option, and editing them reruns nothing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from typing import Literal

from modality_rl.spec import load_spec

log = logging.getLogger(__name__)


class TrackingError(RuntimeError):
    """A tracker cannot start as configured (W&B missing or not logged in)."""


@dataclass(frozen=True, kw_only=True)
class WandbConfig:
    """config key tracking.wandb."""
    mode: Literal["offline", "online"]  # offline: files under the run's wandb/; sync later
    project: str
    entity: str | None = None  # team or user; None: the account's default


@dataclass(frozen=True, kw_only=True)
class TrackingConfig:
    """config key `tracking`, with where this run's files go."""
    tensorboard: bool
    every_steps: int  # training-step scalars every this many steps
    wandb: WandbConfig | None
    run_dir: str  # the run's directory (results/runs/<experiment>/<model>/<env>-<dataset>/seed<N>)
    run_id: str  # <experiment>/<model>/<env>-<dataset>/seed<N>


def load_tracking(option: str | None) -> TrackingConfig | None:
    """A training job's --tracking option (cli.Runtime.tracking); None: no live curves."""
    return load_spec(TrackingConfig, option) if option else None


def tensorboard_dir(run_dir: str | os.PathLike) -> str:
    return os.path.join(run_dir, "tensorboard")


def import_wandb(key: str = "tracking.wandb"):
    try:
        import wandb
    except ImportError as err:
        raise TrackingError(f"config key {key} is set, but the wandb package is not installed: "
                            "pip install '.[wandb]' (or set tracking.wandb: null)") from err
    return wandb


def wandb_problem(wandb_config: dict | None) -> str | None:
    """Why tracking.wandb cannot start here, or None: checked at planning, before any job."""
    if wandb_config is None:
        return None
    try:
        wandb = import_wandb()
    except TrackingError as err:
        return str(err)
    if wandb_config["mode"] == "online" and not wandb.login(verify=False, prompt=False):
        return ("config key tracking.wandb.mode is online, but no W&B API key is set: run "
                "`wandb login` or set WANDB_API_KEY (or use mode: offline, then `wandb sync`)")
    return None


class TensorBoardSink:
    def __init__(self, logdir: str, purge_step: int | None):
        from torch.utils.tensorboard import SummaryWriter

        if purge_step is None:  # a fresh run: no curve of an earlier run of this path
            shutil.rmtree(logdir, ignore_errors=True)
        # purge_step: a resumed run hides what its killed predecessor logged after its
        # last saved epoch, so each step shows once.
        self.writer = SummaryWriter(logdir, purge_step=purge_step)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)
        self.writer.flush()  # live: TensorBoard reads what is on disk

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    def __init__(self, cfg: WandbConfig, run_dir: str, run_id: str, settings: dict):
        if problem := wandb_problem({"mode": cfg.mode}):
            raise TrackingError(problem)
        wandb = import_wandb()
        experiment, model, env_dataset, seed = run_id.split("/")
        self.run = wandb.init(
            project=cfg.project, entity=cfg.entity, mode=cfg.mode, dir=run_dir,
            # One W&B run per pipeline run: a resumed run continues it.
            id=re.sub(r"[^A-Za-z0-9_-]", "-", run_id), resume="allow", name=run_id,
            group=f"{experiment}/{model}/{env_dataset}", job_type=experiment,
            tags=[experiment, model, env_dataset, seed], config=settings)

    def scalars(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


class Tracker:
    """Where a run's curves go. `first_epoch` > 0 when the run resumed."""

    def __init__(self, cfg: TrackingConfig | None, settings: dict, steps_per_epoch: int,
                 first_epoch: int):
        self.cfg, self.steps_per_epoch = cfg, steps_per_epoch
        self.sinks: list[TensorBoardSink | WandbSink] = []
        if cfg is None:
            return
        # Resumed after epoch e - 1: what follows its evaluation is logged again.
        purge_step = (first_epoch - 1) * steps_per_epoch + 1 if first_epoch > 0 else None
        if cfg.tensorboard:
            self.sinks.append(TensorBoardSink(tensorboard_dir(cfg.run_dir), purge_step))
            log.info("TensorBoard: %s", tensorboard_dir(cfg.run_dir))
        if cfg.wandb is not None:
            self.sinks.append(WandbSink(cfg.wandb, cfg.run_dir, cfg.run_id, settings))

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        for sink in self.sinks:
            sink.close()

    def wants_step(self, step: int) -> bool:
        """Whether training step `step` (1, 2, ... over the whole run) is logged."""
        return bool(self.sinks) and step % self.cfg.every_steps == 0

    def step(self, step: int, *, loss: float, learning_rate: float, grad_norm: float,
             clipped_grad_norm: float) -> None:
        self._log({"train/loss": loss, "train/learning_rate": learning_rate,
                   "train/grad_norm": grad_norm, "train/grad_norm_clipped": clipped_grad_norm},
                  step)

    def epoch(self, epoch: int, row: dict) -> None:
        """One evaluation's row of metrics.csv (None: no value, as epoch 0's action error)."""
        values = {f"epoch/{key}": value for key, value in row.items() if value is not None}
        self._log(values, epoch * self.steps_per_epoch)

    def _log(self, values: dict[str, float], step: int) -> None:
        for sink in self.sinks:
            sink.scalars(values, step)
