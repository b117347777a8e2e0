"""Fine-tune one run (experiment, model, env, dataset, seed); resumes if it was killed."""

from dataclasses import dataclass

import torch

from modality_rl.allocator import release_freed_memory_eagerly
from modality_rl.cli import parse_job
from modality_rl.devices import select_device
from modality_rl.scores import load_reference_returns
from modality_rl.tracking import load_tracking
from modality_rl.training import RunSettings, Trainer


@dataclass(frozen=True, kw_only=True)
class TrainJob:
    settings: RunSettings  # runs.run_settings: everything the run's numbers depend on
    dataset: str  # D4RL v2 HDF5 file
    reference_returns: str
    work_dir: str  # resumable state while running
    metrics: str  # metrics.csv
    checkpoints: str  # output directory


def main() -> None:
    job, runtime = parse_job(TrainJob, __doc__)
    release_freed_memory_eagerly()  # the job's peak is then its largest live set
    torch.set_num_threads(runtime.threads)
    # The rule's threads: this process, and threads - 1 stepping the evaluation envs.
    trainer = Trainer(job.settings, job.dataset, load_reference_returns(job.reference_returns),
                      job.work_dir, select_device(runtime.device, runtime.runs_per_gpu),
                      eval_workers=runtime.threads - 1, tracking=load_tracking(runtime.tracking))
    trainer.run(job.metrics, job.checkpoints)


if __name__ == "__main__":
    main()
