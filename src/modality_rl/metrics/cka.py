"""Linear centred kernel alignment (Kornblith et al. 2019; paper Section 5.1, Appendix D).

With `debiased=True` (the paper's choice, "unbiased estimators [39] of linear CKA") the
Gram matrices are centred so that their inner product is the unbiased HSIC estimator of
Song et al. (2012), as in google-research/representation_similarity, which the paper used.
Activations are (samples, features): the paper's layer activation at one token of the
last step, activation[:, -1/-2/-3, :] (the released code indexed the feature axis
instead; docs/computing.md, "Deliberate differences").

`cka_matrix` compares many layers at once: one centred Gram per layer, then all HSICs as
one matrix product, which is what makes 216 x 216 layer grids cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def gram_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x @ x.T


def center_gram(gram: np.ndarray, unbiased: bool = True) -> np.ndarray:
    """Centre a Gram matrix; `unbiased` makes <center(K), center(L)> the unbiased HSIC
    times n(n-3) (google-research/representation_similarity, `center_gram`)."""
    gram = np.array(gram, dtype=np.float64)
    n = gram.shape[0]
    if unbiased:
        if n < 4:
            raise ValueError(f"the unbiased HSIC needs at least 4 samples, got {n}")
        np.fill_diagonal(gram, 0)
        means = gram.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None] + means[None, :]
        np.fill_diagonal(gram, 0)
    else:
        means = gram.mean(axis=0)
        means -= means.mean() / 2
        gram -= means[:, None] + means[None, :]
    return gram


def centred_grams(activations: Sequence[np.ndarray], debiased: bool = True) -> np.ndarray:
    """(layers, n*n): each layer's centred linear Gram matrix, flattened."""
    return np.stack([center_gram(gram_linear(a), unbiased=debiased).ravel()
                     for a in activations])


def permuted_grams(grams: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """centred_grams of the activations with their sample rows permuted.

    Permuting the samples permutes a Gram's rows and columns alike, and both centrings
    commute with that, so the centred Grams need not be recomputed. CKA of X against Y
    with Y's rows permuted is the permutation floor: what CKA gives for representations
    of unrelated samples (about 0 unbiased, well above 0 biased for wide layers).
    """
    n = len(permutation)
    square = grams.reshape(len(grams), n, n)
    return square[:, permutation][:, :, permutation].reshape(len(grams), n * n)


def cka_from_grams(gx: np.ndarray, gy: np.ndarray, paired: bool = False) -> np.ndarray:
    """CKA of every layer of `gx` against every layer of `gy` (centred_grams outputs), or
    with `paired` only layer i against layer i."""
    norm_x, norm_y = np.linalg.norm(gx, axis=1), np.linalg.norm(gy, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if paired:
            return (gx * gy).sum(axis=1) / (norm_x * norm_y)
        return (gx @ gy.T) / np.outer(norm_x, norm_y)


def cka_matrix(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray] | None = None,
               debiased: bool = True) -> np.ndarray:
    """CKA of every layer in `xs` against every layer in `ys` (default: `xs` itself).
    Each activation is (samples, features) with the same samples in every layer."""
    gx = centred_grams(xs, debiased)
    return cka_from_grams(gx, gx if ys is None else centred_grams(ys, debiased))


def linear_cka(x: np.ndarray, y: np.ndarray, debiased: bool = True) -> float:
    """Linear CKA of two (samples, features) activations of the same samples."""
    if len(x) != len(y):
        raise ValueError(f"CKA compares the same samples: {len(x)} vs {len(y)} rows")
    return float(cka_matrix([x], [y], debiased)[0, 0])


def normalised_layer(index: int, n_layers: int, reference_layers: int) -> int:
    """Position of layer `index` on the reference model's layer axis. Paper Fig. 1: iGPT's
    216 layers map in adjacent pairs onto GPT-2's 108, and the figure averages each pair."""
    return index * reference_layers // n_layers


def layers_above(names: Sequence[str], values: Sequence[float], threshold: float) -> list[str]:
    """Names of the layers whose CKA exceeds `threshold` (paper Appendix D.3)."""
    return [name for name, value in zip(names, values) if value > threshold]
