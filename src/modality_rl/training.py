"""Fine-tuning one run: the paper's optimiser, schedule, loss, checkpoints and evaluation.

A run trains for `epochs` epochs of `steps_per_epoch` steps. Epoch 0 is the model before
any update: it is evaluated and checkpointed like the others. After every epoch the
run's whole state (model, optimiser, scheduler, every RNG, the metrics so far) is saved
to `work_dir/state.pt`, so a killed run resumes where it stopped and ends with the same
numbers. Declared outputs (checkpoints at `checkpoint_epochs`, the metrics CSV) are
moved into place only when the run completes.
"""

from __future__ import annotations

import csv
import logging
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from modality_rl import paths
from modality_rl.data.trajectories import load_trajectories, state_statistics
from modality_rl.data.windows import WindowBatch, WindowSampler
from modality_rl.evaluation import EvalConfig, Evaluator
from modality_rl.io import atomic_directory, atomic_path
from modality_rl.models.backbones import Dropout
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.models.factory import ModelConfig, build_decision_transformer
from modality_rl.runs import Run, backbone_kind
from modality_rl.scores import CONVENTIONS, ReferenceReturns
from modality_rl.seeding import seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class AdamEps:
    random: float  # a randomly initialised body
    pretrained: float  # a pre-trained body (the released code's choice)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """config key `training`, as it is: a training setting is a field here, a key in
    config.yaml and the schema (tests/test_specs.py checks they agree), and read below."""
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_steps: int
    steps_per_epoch: int
    adam_eps: AdamEps
    dropout: Dropout
    max_episode_steps: int  # timestep embedding size and cap of training windows
    returns_scale: float
    bf16: bool  # bf16 autocast of the forward pass (GPU)
    # "all": windows from every trajectory; "released": never the lowest-return one, as
    # the paper's code (kzl/decision-transformer#33; README, "Deliberate differences")
    trajectory_sampling: Literal["all", "released"]


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """What the run's experiment (config key `experiments.<name>`) fixes for its env."""
    context_length: int
    epochs: int
    grad_clip: float | None
    checkpoint_epochs: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class EvaluationSettings:
    """config key `evaluation`, with the targets of the run's env."""
    episodes: int  # per target
    max_episode_steps: int
    targets: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything a run's numbers depend on (runs.run_settings builds it from the config)."""
    run: Run
    training: TrainConfig
    schedule: Schedule
    evaluation: EvaluationSettings
    model: ModelConfig

    def build_model(self, attn_implementation: str = "eager") -> DecisionTransformer:
        """The run's model before any update: the same weights for the same settings."""
        return build_decision_transformer(self.model, self.training.dropout, self.run.env,
                                          self.run.seed, self.training.max_episode_steps,
                                          attn_implementation)


def masked_action_mse(predicted: torch.Tensor, target: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """MSE over the actions of real (non-padded) steps, as the DT's SequenceTrainer.

    Written as a mask-weighted mean rather than boolean indexing, so that it has a fixed
    shape and torch.func.vmap can take it per sample (probes.gradients).
    """
    squared_error = ((predicted - target) ** 2).mean(dim=-1)
    return (squared_error * mask).sum() / mask.sum()


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, model_name: str):
    """AdamW with the paper's eps and linear warm-up to a constant learning rate. The
    released code chose eps by whether the whole body was pre-trained."""
    eps = cfg.adam_eps.random if backbone_kind(model_name) == "random" else cfg.adam_eps.pretrained
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=cfg.learning_rate,
                                  weight_decay=cfg.weight_decay, eps=eps)
    warmup = max(cfg.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  lambda step: min((step + 1) / warmup, 1.0))
    return optimizer, scheduler


def batch_tensors(batch: WindowBatch, device: torch.device | str = "cpu"
                  ) -> dict[str, torch.Tensor]:
    """A window batch as tensors on `device`, by field name."""
    return {key: torch.from_numpy(value).to(device) for key, value in batch.as_dict().items()}


@dataclass(frozen=True, kw_only=True)
class ActionError:
    """An epoch's training loss (masked action MSE). `last_batch` is what the released
    trainer logged and what the paper's action-error curves show; `epoch_mean` is the mean
    over the epoch's batches, less noisy (README, "Deliberate differences", point 2)."""
    last_batch: float
    epoch_mean: float


@dataclass(kw_only=True)
class RunState:
    """Everything a resumed run needs; saved after every epoch."""
    epoch: int
    model: dict
    optimizer: dict
    scheduler: dict
    sampler_rng: dict
    python_rng: object
    numpy_rng: object
    torch_rng: torch.Tensor
    metrics: list[dict] = field(default_factory=list)


class Trainer:
    """`eval_workers` processes step the evaluation envs (0 or 1: this process does)."""

    def __init__(self, settings: RunSettings, dataset_path: str | os.PathLike,
                 refs: ReferenceReturns, work_dir: str | os.PathLike,
                 device: torch.device | str = "cpu", eval_workers: int = 0):
        self.settings, self.refs, self.eval_workers = settings, refs, eval_workers
        self.cfg, self.schedule = settings.training, settings.schedule
        self.device = torch.device(device)
        self.model = settings.build_model().to(self.device)
        self.work_dir = Path(work_dir)
        trajectories = load_trajectories(dataset_path)
        self.state_mean, self.state_std = state_statistics(trajectories)
        self.sampler = WindowSampler(trajectories, self.schedule.context_length, self.state_mean,
                                     self.state_std, max_episode_steps=self.cfg.max_episode_steps,
                                     returns_scale=self.cfg.returns_scale,
                                     trajectory_sampling=self.cfg.trajectory_sampling)
        self.rng = seed_everything(settings.run.seed)
        self.optimizer, self.scheduler = make_optimizer(self.model, self.cfg, settings.model.name)
        self.metrics: list[dict] = []

    # -- one epoch -------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> ActionError:
        """One epoch of updates; its action error as the released trainer logged it (the
        last batch's loss) and as the mean over the epoch's batches. The losses are summed
        on the device and read once, so a GPU never waits for the host mid-epoch."""
        self.model.train()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for _ in tqdm(range(self.cfg.steps_per_epoch), desc=f"epoch {epoch}", mininterval=10):
            batch = batch_tensors(self.sampler.sample(self.cfg.batch_size, self.rng),
                                  self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
                predicted = self.model(batch["states"], batch["actions"], batch["returns_to_go"],
                                       batch["timesteps"], attention_mask=batch["mask"])
            loss = masked_action_mse(predicted.float(), batch["actions"], batch["mask"])
            self.optimizer.zero_grad()
            loss.backward()
            if self.schedule.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.schedule.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            total += loss.detach()
        return ActionError(last_batch=loss.item(),
                           epoch_mean=total.item() / self.cfg.steps_per_epoch)

    def evaluator(self) -> Evaluator:
        """The run's evaluation envs, built once and reset with the same seeds each epoch."""
        evaluation = self.settings.evaluation
        return Evaluator(EvalConfig(
            env=self.settings.run.env, target_returns=evaluation.targets,
            episodes=evaluation.episodes, context_length=self.schedule.context_length,
            state_mean=self.state_mean, state_std=self.state_std, seed=self.settings.run.seed,
            max_episode_steps=evaluation.max_episode_steps,
            returns_scale=self.cfg.returns_scale), workers=self.eval_workers)

    def evaluate(self, evaluator: Evaluator, epoch: int, action_error: ActionError | None
                 ) -> dict:
        result = evaluator.evaluate(self.model, self.device)
        evaluation = self.settings.evaluation
        row = {"epoch": epoch, "action_error": None, "action_error_epoch_mean": None}
        if action_error is not None:
            row |= {"action_error": action_error.last_batch,
                    "action_error_epoch_mean": action_error.epoch_mean}
        for target, returns, lengths in zip(evaluation.targets, result.returns, result.lengths):
            mean = float(returns.mean())
            row |= {f"target_{target:g}_return_mean": mean,
                    f"target_{target:g}_return_std": float(returns.std()),
                    f"target_{target:g}_length_mean": float(lengths.mean())}
            for convention in CONVENTIONS:
                row[f"target_{target:g}_normalised_score_{convention}"] = \
                    self.refs.normalised(mean, convention)
        log.info("epoch %d: %s", epoch, row)
        return row

    # -- resumable state -------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.work_dir / "state.pt"

    def checkpoint_path(self, epoch: int) -> Path:
        return Path(paths.checkpoint(str(self.work_dir), epoch))

    def save_state(self, epoch: int) -> None:
        state = RunState(epoch=epoch, model=self.model.state_dict(),
                         optimizer=self.optimizer.state_dict(),
                         scheduler=self.scheduler.state_dict(),
                         sampler_rng=self.rng.bit_generator.state, python_rng=random.getstate(),
                         numpy_rng=np.random.get_state(), torch_rng=torch.get_rng_state(),
                         metrics=self.metrics)
        with atomic_path(self.state_path) as tmp:
            torch.save(vars(state), tmp)  # shallow: asdict would deep-copy every tensor

    def load_state(self) -> int:
        """Restore the last saved epoch; return the next epoch to run (0 if none)."""
        if not self.state_path.exists():
            return 0
        state = RunState(**torch.load(self.state_path, weights_only=False))
        self.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        self.rng.bit_generator.state = state.sampler_rng
        random.setstate(state.python_rng)
        np.random.set_state(state.numpy_rng)
        torch.set_rng_state(state.torch_rng)
        self.metrics = state.metrics
        log.info("resuming after epoch %d from %s", state.epoch, self.state_path)
        return state.epoch + 1

    # -- the run ---------------------------------------------------------------------
    def run(self) -> list[dict]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.evaluator() as evaluator:
            for epoch in range(self.load_state(), self.schedule.epochs + 1):
                action_error = self.train_epoch(epoch) if epoch > 0 else None
                self.metrics.append(self.evaluate(evaluator, epoch, action_error))
                if epoch in self.schedule.checkpoint_epochs:
                    with atomic_path(self.checkpoint_path(epoch)) as tmp:
                        torch.save(self.model.state_dict(), tmp)
                self.save_state(epoch)
        return self.metrics

    def publish(self, metrics_csv: str | os.PathLike, checkpoints_dir: str | os.PathLike) -> None:
        """Put the finished run's outputs in place, then drop its resumable state.

        Checkpoints are copied (not moved), so a publish cut short can simply be repeated.
        """
        with atomic_directory(checkpoints_dir) as tmp:
            for epoch in self.schedule.checkpoint_epochs:
                shutil.copy2(self.checkpoint_path(epoch), paths.checkpoint(str(tmp), epoch))
        with atomic_path(metrics_csv) as tmp_csv, open(tmp_csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.metrics[0]))
            writer.writeheader()
            writer.writerows(self.metrics)
        shutil.rmtree(self.work_dir)
