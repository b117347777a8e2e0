"""Mean attention distance (Dosovitskiy et al. 2021; paper Section 5.6.2, Appendix I.2).

The attention distance of a query is the attention-weighted distance in tokens to its
keys, sum_k a_qk |q - k|. Per sample and block, `attention_distance` averages it over
heads and over the real (non-padded) query tokens. Fig. 10 plots, per block, the gap
|d(E) - d(0)| between a later epoch E and the untrained model.

`method="original"` reproduces the released code for comparison: it rebuilt a single
pseudo-head from the first two width-sized slices of `attn.c_attn`'s output (all heads'
queries against all heads' keys), applied the causal mask *after* the softmax, and
averaged a_qk |q - k| over all T x T entries (masked ones included). The slices use the
model's width here (`probes.activations.pseudo_single_head_attention`, at probe time);
the released code hard-coded 768, the same for GPT-2 and the random body and wrong for
ImageGPT's 512.
"""

from __future__ import annotations

import numpy as np

METHODS = ("mean", "original")


def token_distances(tokens: int) -> np.ndarray:
    positions = np.arange(tokens)
    return np.abs(positions[:, None] - positions[None, :]).astype(np.float64)


def attention_distance(attn: np.ndarray, method: str = "mean",
                       query_mask: np.ndarray | None = None) -> np.ndarray:
    """Per-sample attention distance of one block.

    method "mean": `attn` is (N, heads, T, T) attention probabilities; the result averages
    over heads and over the queries where `query_mask` (N, T) is 1 (all if None).
    method "original": `attn` is (N, T, T) from
    `probes.activations.pseudo_single_head_attention`; the result is the mean of
    a_qk |q - k| over all T x T entries, as the released code computed it.
    """
    if method not in METHODS:
        raise ValueError(f"unknown attention distance method {method!r}; use one of {METHODS}")
    attn = np.asarray(attn, dtype=np.float64)
    distances = token_distances(attn.shape[-1])
    if method == "original":
        if attn.ndim != 3:
            raise ValueError(
                f"method 'original' takes (N, T, T) pseudo-attention, got {attn.shape}")
        return (attn * distances).mean(axis=(1, 2))
    if attn.ndim != 4:
        raise ValueError(f"method 'mean' takes (N, heads, T, T) attention, got {attn.shape}")
    per_query = (attn * distances).sum(axis=-1).mean(axis=1)  # (N, T): over keys, then heads
    if query_mask is None:
        return per_query.mean(axis=1)
    query_mask = np.asarray(query_mask, dtype=np.float64)
    return (per_query * query_mask).sum(axis=1) / query_mask.sum(axis=1)


def attention_distance_gap(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """|d(E) - d(0)| per sample (paper Section 5.6.2)."""
    return np.abs(np.asarray(after) - np.asarray(before))
