"""Summaries of the per-sample gradient probe (paper Section 5.4, Appendix G)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

def gradient_confusion(cosines: np.ndarray) -> float:
    """Minimum pairwise cosine of per-sample gradients (Sankararaman et al. 2020): the
    minimum of all n x n cosines, as the paper computed it (the diagonal is 1)."""
    return float(np.min(cosines))


def norm_shares(names: Sequence[str], norms: Sequence[float],
                highlighted: Sequence[str]) -> dict[str, float]:
    """Each highlighted parameter set's share of the summed per-parameter norms, and
    `others` for the rest (the released code divided norms, not squared norms). Fig. 7
    highlights the two that dominate iGPT's norm, 0.ln_1.weight and 0.ln_1.bias."""
    norms = np.asarray(norms, dtype=np.float64)
    total = norms.sum()
    shares = {name: float(norms[list(names).index(name)] / total) for name in highlighted}
    shares["others"] = 1.0 - sum(shares.values())
    return shares
