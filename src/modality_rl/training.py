"""Fine-tuning one run: the paper's optimiser, schedule, loss, checkpoints and evaluation.

A run trains for `epochs` epochs of `steps_per_epoch` steps. Epoch 0 is the model before
any update: it is evaluated and checkpointed like the others. After every epoch the
run's whole state (model, optimiser, scheduler, every RNG, the metrics so far) is saved
in its work directory (`modality_rl.resume`: locked for the trainer's life, and resumed
only under the same settings and code), so a killed run resumes where it stopped and
ends with the same numbers. Declared outputs (the metrics CSV, and a checkpoints directory
holding the weights at `checkpoint_epochs` and epoch 0's recipe, the run's settings) are
moved into place only when the run completes.

On a GPU: matmuls in `training.matmul_precision` (TF32 by default), bf16 autocast of
training and evaluation when `training.bf16`, the dataset on the device when it fits
(else pinned, non-blocking copies), fused AdamW, the training forward compiled when
`training.compile`. On a CPU none of these apply, and the numbers are the same as ever.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import torch
from tqdm import tqdm

from modality_rl import paths
from modality_rl.data.trajectories import dataset_attrs, load_trajectories, state_statistics
from modality_rl.data.windows import WindowBatch, WindowSampler
from modality_rl.evaluation import EvalConfig, Evaluator
from modality_rl.io import atomic_directory, atomic_path, write_json, write_torch
from modality_rl.models.backbones import Dropout
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.models.factory import ModelConfig, build_decision_transformer
from modality_rl.code import code_digest
from modality_rl.provenance import config_hash
from modality_rl.resume import RunState, RunWorkspace, random_states, restore_random_states
from modality_rl.runs import Run
from modality_rl.scores import CONVENTIONS, ReferenceReturns
from modality_rl.seeding import seed_everything
from modality_rl.spec import to_data
from modality_rl.tracking import Tracker, TrackingConfig

# The dataset stays on the GPU when it takes at most this share of its free memory.
DEVICE_DATASET_SHARE = 0.25

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
    bf16: bool  # bf16 autocast of training and evaluation forward passes (GPU)
    # float32 matmuls on a GPU: "high" lets them use TF32 (torch.set_float32_matmul_precision)
    matmul_precision: Literal["highest", "high", "medium"]
    compile: bool  # torch.compile the training forward (GPU; pays off on long runs)
    # "all": windows from every trajectory; "released": never the lowest-return one, as
    # the paper's code (kzl/decision-transformer#33; docs/computing.md, "Deliberate differences")
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

    def fingerprint(self) -> str:
        """What a resumable state must match: these settings and the training code (this
        module and what it imports, as syntax trees: a state saved by other code is not
        resumed)."""
        return config_hash({"settings": to_data(self), "code": code_digest([__file__])})


def masked_action_mse(predicted: torch.Tensor, target: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """MSE over the actions of real (non-padded) steps, as the DT's SequenceTrainer.

    Written as a mask-weighted mean rather than boolean indexing, so that it has a fixed
    shape and torch.func.vmap can take it per sample (probes.gradients).
    """
    squared_error = ((predicted - target) ** 2).mean(dim=-1)
    return (squared_error * mask).sum() / mask.sum()


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, pretrained: bool,
                   device: torch.device | str = "cpu"):
    """AdamW with the paper's eps and linear warm-up to a constant learning rate. The
    released code chose eps by whether the whole body was pre-trained (a block-swap body
    is not). On a GPU the fused kernel (one launch for every parameter); on a CPU the
    default, as ever."""
    eps = cfg.adam_eps.pretrained if pretrained else cfg.adam_eps.random
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=cfg.learning_rate,
                                  weight_decay=cfg.weight_decay, eps=eps,
                                  fused=True if torch.device(device).type == "cuda" else None)
    warmup = max(cfg.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  lambda step: min((step + 1) / warmup, 1.0))
    return optimizer, scheduler


def batch_tensors(batch: WindowBatch, device: torch.device | str = "cpu"
                  ) -> dict[str, torch.Tensor]:
    """A window batch as tensors on `device`, by field name; to a GPU from pinned memory,
    without waiting for the copy."""
    device = torch.device(device)
    if device.type != "cuda":
        return {key: torch.from_numpy(value).to(device) for key, value in batch.as_dict().items()}
    return {key: torch.from_numpy(value).pin_memory().to(device, non_blocking=True)
            for key, value in batch.as_dict().items()}


@dataclass(frozen=True, kw_only=True)
class ActionError:
    """An epoch's training loss (masked action MSE). `last_batch` is what the released
    trainer logged and what the paper's action-error curves show; `epoch_mean` is the mean
    over the epoch's batches, less noisy (docs/computing.md, "Deliberate differences", point 2)."""
    last_batch: float
    epoch_mean: float


class Trainer:
    """`eval_workers` processes step the evaluation envs (0 or 1: this process does);
    `tracking` says where the live curves go (None: nowhere; they change no number)."""

    def __init__(self, settings: RunSettings, dataset_path: str | os.PathLike,
                 refs: ReferenceReturns, work_dir: str | os.PathLike,
                 device: torch.device | str = "cpu", eval_workers: int = 0,
                 tracking: TrackingConfig | None = None):
        self.settings, self.refs, self.eval_workers = settings, refs, eval_workers
        self.tracking = tracking
        self.cfg, self.schedule = settings.training, settings.schedule
        self.device = torch.device(device)
        if self.device.type == "cuda":  # contract: precision.
            torch.set_float32_matmul_precision(self.cfg.matmul_precision)
        self.model = settings.build_model().to(self.device)
        # The compiled forward shares the model's parameters; checkpoints save the model.
        self.forward = torch.compile(self.model) if self.cfg.compile else self.model
        self.workspace = RunWorkspace(work_dir, settings.fingerprint())
        trajectories = load_trajectories(dataset_path)
        # The environment the dataset was collected in where it names one (Minari's v5).
        provenance = dataset_attrs(dataset_path)
        self.gym_id = provenance.get("gym_id")
        if self.gym_id:
            log.warning("evaluating in %s, the environment of %s: %s", self.gym_id,
                        dataset_path, provenance.get("note", ""))
        self.state_mean, self.state_std = state_statistics(trajectories)
        self.sampler = self.place(WindowSampler(
            trajectories, self.schedule.context_length, self.state_mean, self.state_std,
            max_episode_steps=self.cfg.max_episode_steps, returns_scale=self.cfg.returns_scale,
            trajectory_sampling=self.cfg.trajectory_sampling))
        self.rng = seed_everything(settings.run.seed)
        self.optimizer, self.scheduler = make_optimizer(self.model, self.cfg,
                                                        settings.model.is_pretrained,
                                                        self.device)
        self.metrics: list[dict] = []
        self.tracker = Tracker(None, {}, self.cfg.steps_per_epoch, first_epoch=0)

    def place(self, sampler: WindowSampler) -> WindowSampler:
        """The sampler with its windows on the GPU when they fit: a batch is then gathered
        there, and no training step waits for the host."""
        if self.device.type != "cuda":
            return sampler
        free, _ = torch.cuda.mem_get_info(self.device)
        if sampler.storage.nbytes > DEVICE_DATASET_SHARE * free:
            log.info("the dataset (%.0f MB) stays on the host", sampler.storage.nbytes / 1e6)
            return sampler
        return sampler.to(self.device)

    def autocast(self):
        if not self.cfg.bf16:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def batch(self) -> dict[str, torch.Tensor]:
        batch = self.sampler.sample(self.cfg.batch_size, self.rng)
        if isinstance(batch.states, torch.Tensor):  # gathered on the device already
            return batch.as_dict()
        return batch_tensors(batch, self.device)

    # -- one epoch -------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> ActionError:
        """One epoch of updates; its action error as the released trainer logged it (the
        last batch's loss) and as the mean over the epoch's batches. The losses are summed
        on the device and read once, so a GPU never waits for the host mid-epoch."""
        self.model.train()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        first_step = (epoch - 1) * self.cfg.steps_per_epoch + 1
        for i in tqdm(range(self.cfg.steps_per_epoch), desc=f"epoch {epoch}", mininterval=10):
            batch = self.batch()
            with self.autocast():
                predicted = self.forward(batch["states"], batch["actions"],
                                         batch["returns_to_go"], batch["timesteps"],
                                         attention_mask=batch["mask"])
            loss = masked_action_mse(predicted.float(), batch["actions"], batch["mask"])
            self.optimizer.zero_grad()
            loss.backward()
            grad_norm = self.clip_gradients()
            if self.tracker.wants_step(first_step + i):
                self.track_step(first_step + i, loss, grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            total += loss.detach()
        return ActionError(last_batch=loss.item(),
                           epoch_mean=total.item() / self.cfg.steps_per_epoch)

    def clip_gradients(self) -> torch.Tensor | None:
        """Clip to `grad_clip` (the experiment's); the norm before clipping, or None."""
        if self.schedule.grad_clip is None:
            return None
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.schedule.grad_clip)

    def track_step(self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor | None
                   ) -> None:
        """The step's loss, learning rate and gradient norm before and after clipping (read
        from the gradients, so on logged steps only: reading them waits for a GPU)."""
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        after = torch.nn.utils.get_total_norm(grads)
        self.tracker.step(step, loss=loss.item(),
                          learning_rate=self.optimizer.param_groups[0]["lr"],
                          grad_norm=(after if grad_norm is None else grad_norm).item(),
                          clipped_grad_norm=after.item())

    def evaluator(self) -> Evaluator:
        """The run's evaluation envs, built once and reset with the same seeds each epoch."""
        evaluation = self.settings.evaluation
        return Evaluator(EvalConfig(
            env=self.settings.run.env, target_returns=evaluation.targets,
            episodes=evaluation.episodes, context_length=self.schedule.context_length,
            state_mean=self.state_mean, state_std=self.state_std, seed=self.settings.run.seed,
            max_episode_steps=evaluation.max_episode_steps,
            returns_scale=self.cfg.returns_scale, gym_id=self.gym_id), workers=self.eval_workers)

    def evaluate(self, evaluator: Evaluator, epoch: int, action_error: ActionError | None
                 ) -> dict:
        with self.autocast():
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
    def save_state(self, epoch: int) -> None:
        self.workspace.save(RunState(
            fingerprint=self.workspace.fingerprint, epoch=epoch, model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(),
            metrics=self.metrics, **random_states(self.rng)))

    def load_state(self) -> int:
        """Restore the last saved epoch of these settings; return the next epoch to run."""
        state = self.workspace.load(self.schedule.checkpoint_epochs)
        if state is None:
            return 0
        self.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        restore_random_states(state, self.rng)
        self.metrics = state.metrics
        log.info("resuming after epoch %d from %s", state.epoch, self.workspace.state_path)
        return state.epoch + 1

    # -- the run ---------------------------------------------------------------------
    def run(self, metrics_csv: str | os.PathLike, checkpoints_dir: str | os.PathLike
            ) -> list[dict]:
        """Train (resuming where a killed run stopped) and publish the outputs, holding the
        run's work directory for the whole time."""
        with self.workspace, self.evaluator() as evaluator:
            first_epoch = self.load_state()
            self.tracker = Tracker(self.tracking, to_data(self.settings),
                                   self.cfg.steps_per_epoch, first_epoch)
            with self.tracker:
                self.train_epochs(evaluator, first_epoch)
            self.publish(metrics_csv, checkpoints_dir)
        return self.metrics

    def train_epochs(self, evaluator: Evaluator, first_epoch: int) -> None:
        for epoch in range(first_epoch, self.schedule.epochs + 1):
            action_error = self.train_epoch(epoch) if epoch > 0 else None
            self.metrics.append(self.evaluate(evaluator, epoch, action_error))
            self.tracker.epoch(epoch, self.metrics[-1])
            if epoch in self.schedule.checkpoint_epochs:
                write_torch(self.model.state_dict(), self.workspace.checkpoint_path(epoch))
            self.save_state(epoch)

    def publish(self, metrics_csv: str | os.PathLike, checkpoints_dir: str | os.PathLike) -> None:
        """Put the finished run's outputs in place, then drop its resumable state.

        Checkpoints are copied (not moved), so a publish cut short can simply be repeated.
        """
        with atomic_directory(checkpoints_dir) as tmp:
            write_json(to_data(self.settings), paths.checkpoint(str(tmp), 0))
            for epoch in self.schedule.checkpoint_epochs:
                shutil.copy2(self.workspace.checkpoint_path(epoch),
                             paths.checkpoint(str(tmp), epoch))
        with atomic_path(metrics_csv) as tmp_csv, open(tmp_csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.metrics[0]))
            writer.writeheader()
            writer.writerows(self.metrics)
        self.workspace.clear()
