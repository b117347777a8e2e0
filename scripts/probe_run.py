"""Probe a run's checkpoints: activations, attention and (at one epoch) gradients, one HDF5 each."""

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from modality_rl import paths
from modality_rl.cli import parse_job
from modality_rl.devices import select_device
from modality_rl.probes.gradients import GradientConfig
from modality_rl.probes.run import probe_checkpoint
from modality_rl.spec import SpecError
from modality_rl.training import RunSettings


@dataclass(frozen=True, kw_only=True)
class ProbeJob:
    settings: RunSettings  # the run's, as its training job had them
    epochs: tuple[int, ...]  # the epochs some analysis reads
    gradient_epoch: int | None  # the epoch whose dump carries the gradient probe, if any
    gradients: GradientConfig | None  # config key analysis.gradients, less experiment and epoch
    checkpoints: str  # the run's checkpoint directory
    probe_batch: str
    out: str  # directory for one dump per epoch

    def __post_init__(self) -> None:
        if (self.gradient_epoch is None) != (self.gradients is None):
            raise SpecError("gradient_epoch and gradients go together: give both or neither")


def main() -> None:
    job, runtime = parse_job(ProbeJob, __doc__)
    torch.set_num_threads(runtime.threads)
    device = select_device(runtime.device, runtime.runs_per_gpu)
    Path(job.out).mkdir(parents=True, exist_ok=True)
    for epoch in tqdm(job.epochs, desc="probe epochs"):
        probe_checkpoint(job.settings, epoch, paths.checkpoint(job.checkpoints, epoch),
                         job.probe_batch, paths.dump(job.out, epoch),
                         job.gradients if epoch == job.gradient_epoch else None, device)


if __name__ == "__main__":
    main()
