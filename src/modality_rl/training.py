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

import numpy as np
import torch
from tqdm import tqdm

from modality_rl.data.trajectories import load_trajectories, state_statistics
from modality_rl.data.windows import WindowBatch, WindowSampler
from modality_rl.evaluation import EvalConfig, evaluate_batched
from modality_rl.io import atomic_path
from modality_rl.scores import CONVENTIONS, ReferenceReturns
from modality_rl.seeding import seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    env: str
    seed: int
    context_length: int
    epochs: int
    steps_per_epoch: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_steps: int
    adam_eps: float
    grad_clip: float | None
    checkpoint_epochs: tuple[int, ...]
    eval_targets: tuple[float, ...]
    eval_episodes: int
    max_episode_steps: int = 1000  # timestep embedding size and cap of training windows
    eval_max_episode_steps: int = 1000
    returns_scale: float = 1000.0
    bf16: bool = False


def masked_action_mse(predicted: torch.Tensor, target: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """MSE over the actions of real (non-padded) steps, as the DT's SequenceTrainer.

    Written as a mask-weighted mean rather than boolean indexing, so that it has a fixed
    shape and torch.func.vmap can take it per sample (probes.gradients).
    """
    squared_error = ((predicted - target) ** 2).mean(dim=-1)
    return (squared_error * mask).sum() / mask.sum()


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig):
    """AdamW with the paper's eps and linear warm-up to a constant learning rate."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=cfg.learning_rate,
                                  weight_decay=cfg.weight_decay, eps=cfg.adam_eps)
    warmup = max(cfg.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  lambda step: min((step + 1) / warmup, 1.0))
    return optimizer, scheduler


def to_tensors(batch: WindowBatch, device: torch.device) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(value).to(device) for key, value in batch.as_dict().items()}


@dataclass
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
    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, dataset_path: str | os.PathLike,
                 refs: ReferenceReturns, work_dir: str | os.PathLike,
                 device: torch.device | str = "cpu"):
        self.model, self.cfg, self.refs = model.to(device), cfg, refs
        self.device = torch.device(device)
        self.work_dir = Path(work_dir)
        trajectories = load_trajectories(dataset_path)
        self.state_mean, self.state_std = state_statistics(trajectories)
        self.sampler = WindowSampler(trajectories, cfg.context_length, self.state_mean,
                                     self.state_std, max_episode_steps=cfg.max_episode_steps,
                                     returns_scale=cfg.returns_scale)
        self.rng = seed_everything(cfg.seed)
        self.optimizer, self.scheduler = make_optimizer(self.model, cfg)
        self.metrics: list[dict] = []

    # -- one epoch -------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> float:
        self.model.train()
        losses = []
        for _ in tqdm(range(self.cfg.steps_per_epoch), desc=f"epoch {epoch}", mininterval=10):
            batch = to_tensors(self.sampler.sample(self.cfg.batch_size, self.rng), self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
                predicted = self.model(batch["states"], batch["actions"], batch["returns_to_go"],
                                       batch["timesteps"], attention_mask=batch["mask"])
            loss = masked_action_mse(predicted.float(), batch["actions"], batch["mask"])
            self.optimizer.zero_grad()
            loss.backward()
            if self.cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            losses.append(loss.item())
        return float(np.mean(losses))

    def evaluate(self, epoch: int, action_error: float | None) -> dict:
        result = evaluate_batched(self.model, EvalConfig(
            self.cfg.env, self.cfg.eval_targets, self.cfg.eval_episodes, self.cfg.context_length,
            self.state_mean, self.state_std, seed=self.cfg.seed,
            max_episode_steps=self.cfg.eval_max_episode_steps,
            returns_scale=self.cfg.returns_scale), self.device)
        row = {"epoch": epoch, "action_error": action_error}
        for target, returns, lengths in zip(self.cfg.eval_targets, result.returns, result.lengths):
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
        return self.work_dir / f"epoch{epoch}.pt"

    def save_state(self, epoch: int) -> None:
        state = RunState(epoch, self.model.state_dict(), self.optimizer.state_dict(),
                         self.scheduler.state_dict(), self.rng.bit_generator.state,
                         random.getstate(), np.random.get_state(), torch.get_rng_state(),
                         self.metrics)
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
        for epoch in range(self.load_state(), self.cfg.epochs + 1):
            action_error = self.train_epoch(epoch) if epoch > 0 else None
            self.metrics.append(self.evaluate(epoch, action_error))
            if epoch in self.cfg.checkpoint_epochs:
                with atomic_path(self.checkpoint_path(epoch)) as tmp:
                    torch.save(self.model.state_dict(), tmp)
            self.save_state(epoch)
        return self.metrics

    def publish(self, metrics_csv: str | os.PathLike, checkpoints_dir: str | os.PathLike) -> None:
        """Put the finished run's outputs in place, then drop its resumable state.

        Checkpoints are copied (not moved) into a temporary directory that is renamed, so
        a publish cut short can simply be repeated.
        """
        checkpoints_dir = Path(checkpoints_dir)
        tmp = checkpoints_dir.with_name(f".{checkpoints_dir.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for epoch in self.cfg.checkpoint_epochs:
            shutil.copy2(self.checkpoint_path(epoch), tmp / f"epoch{epoch}.pt")
        shutil.rmtree(checkpoints_dir, ignore_errors=True)
        os.replace(tmp, checkpoints_dir)
        with atomic_path(metrics_csv) as tmp_csv, open(tmp_csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.metrics[0]))
            writer.writeheader()
            writer.writerows(self.metrics)
        shutil.rmtree(self.work_dir)
