"""Which device a job runs on: a GPU slot of its own when there are GPUs, else the CPU.

Snakemake's `--resources gpu=N` bounds how many GPU jobs run at once but does not say
which GPU each gets. Each GPU has `runs_per_gpu` slots (config key compute.runs_per_gpu,
so that small K=1 runs can share a GPU; N then counts slots, GPUs x runs_per_gpu). A job
takes the first free slot by an exclusive lock, held until the process exits.

Locks are keyed on the *physical* GPU, not on its index: a scheduler that isolates
devices (Slurm's --gpus, a container) shows every job its own GPU as index 0. The
identity is the job's CUDA_VISIBLE_DEVICES entry when it is set (the physical index or
UUID the scheduler chose), else the device's UUID, so two jobs on different GPUs never
share a lock and two jobs on the same GPU always do.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from modality_rl.io import ExclusiveLock, LockHeldError

log = logging.getLogger(__name__)

DEFAULT_LOCK_DIR = Path(os.environ.get("MODALITY_RL_GPU_LOCK_DIR", "/tmp/modality_rl_gpu_locks"))
_held_locks: list = []  # keeps the lock files open (and so locked) for the process's life


def device_identities(count: int) -> list[str]:
    """A stable name for each of the `count` visible GPUs, the same in every process that
    sees that physical device."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        entries = [entry.strip() for entry in visible.split(",") if entry.strip()]
        if len(entries) >= count:
            return entries[:count]
    import torch

    return [str(torch.cuda.get_device_properties(i).uuid) for i in range(count)]


def acquire_gpu_slot(identities: list[str], runs_per_gpu: int = 1,
                     lock_dir: Path = DEFAULT_LOCK_DIR) -> int:
    """Lock a free slot and return the index (among `identities`) of its GPU; raise if all
    `len(identities) x runs_per_gpu` slots are taken."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(runs_per_gpu):
        for index, identity in enumerate(identities):
            name = re.sub(r"[^\w.-]", "_", identity)
            try:
                _held_locks.append(ExclusiveLock(lock_dir / f"gpu-{name}-slot{slot}.lock")
                                   .acquire())
            except LockHeldError:
                continue
            return index
    raise RuntimeError(
        f"all {len(identities)} GPU(s) x {runs_per_gpu} slot(s) in {lock_dir} are taken; run "
        "Snakemake with --resources gpu=N where N is at most GPUs x compute.runs_per_gpu")


def select_device(prefer: str = "auto", runs_per_gpu: int = 1):
    """`cuda:i` with a slot of its own when CUDA is available (and not refused), else CPU."""
    import torch

    if prefer == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    index = acquire_gpu_slot(device_identities(torch.cuda.device_count()), runs_per_gpu)
    torch.cuda.set_device(index)
    log.info("running on cuda:%d", index)
    return torch.device(f"cuda:{index}")
