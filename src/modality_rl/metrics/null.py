"""The null baselines' pairing: one fixed, seeded permutation of the probe samples.

MINE's shuffled-pair null (`mi_null`) trains on x against z with z's rows permuted, and
CKA's permutation floor (`cka_null`) compares X with Y's rows permuted: both keep each
side's marginal distribution and break the pairing of samples.
"""

from __future__ import annotations

import numpy as np


def null_permutation(n: int, seed: int) -> np.ndarray:
    """numpy's default_rng(seed).permutation(n): the rows the null pairs against."""
    return np.random.default_rng(seed).permutation(n)
