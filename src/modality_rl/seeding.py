"""One place that seeds every random number generator a stage may touch."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python, numpy and torch; return a numpy Generator for explicit use."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def null_permutation(n: int, seed: int) -> np.ndarray:
    """The fixed permutation of n sample rows that the null baselines pair against
    (`mi_null`, `cka_null`): numpy's default_rng(seed).permutation(n)."""
    return np.random.default_rng(seed).permutation(n)
