"""glibc told to give freed memory back to the OS at once, so that a job's peak is its
largest live set (what modality_rl.budgets estimates)."""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 1 << 20


def release_freed_memory_eagerly() -> bool:
    """Have glibc allocate every block of 1 MB or more with mmap, so that a freed tensor
    goes back to the OS at once; True where it took (glibc), False elsewhere.

    By default glibc raises its mmap threshold up to 32 MB as large blocks are freed; the
    tensors below it then come from the heap, whose fragments stay resident: the
    gradient probe grew from 4.5 to 7.9 GB over its ten chunks at GPT-2's shape, and a
    job's peak was no longer its largest live set, which is what the budgets estimate.
    """
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
