"""Which device a job trains on: a GPU slot of its own when there are GPUs, else the CPU.

Snakemake's `--resources gpu=N` bounds how many GPU jobs run at once but does not say
which GPU each gets. Each job takes the first free slot among the visible GPUs by an
exclusive lock on `{lock_dir}/gpu{i}.lock`, held until the process exits, so concurrent
jobs get distinct GPUs.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_LOCK_DIR = Path(os.environ.get("MODALITY_RL_GPU_LOCK_DIR", "/tmp/modality_rl_gpu_locks"))
_held_locks: list = []  # keeps the lock files open (and so locked) for the process's life


def acquire_gpu_slot(device_count: int, lock_dir: Path = DEFAULT_LOCK_DIR) -> int:
    """Lock and return the index of a free GPU; raise if all `device_count` are taken."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for index in range(device_count):
        handle = open(lock_dir / f"gpu{index}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held_locks.append(handle)
        return index
    raise RuntimeError(f"all {device_count} GPU slots in {lock_dir} are taken; run Snakemake "
                       f"with --resources gpu=N where N is at most the number of GPUs")


def select_device(prefer: str = "auto"):
    """`cuda:i` with a slot of its own when CUDA is available (and not refused), else CPU."""
    import torch

    if prefer == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    index = acquire_gpu_slot(torch.cuda.device_count())
    torch.cuda.set_device(index)
    log.info("training on cuda:%d", index)
    return torch.device(f"cuda:{index}")
