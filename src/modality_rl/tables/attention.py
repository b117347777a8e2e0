"""Attention distance tables (Fig. 10, 74-77) for one (env, dataset, seed).

Both methods are tabulated: `mean` (heads averaged, padded queries excluded) and
`original` (the released code's pseudo single-head computation), for comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modality_rl.metrics.attention_distance import attention_distance, attention_distance_gap
from modality_rl.probes.dump import ProbeDump
from modality_rl.tables import Dumps


def _distances(path: str) -> tuple[dict[tuple[str, int], np.ndarray], int]:
    """{(method, block): per-sample distance} of one dump, and its block count."""
    with ProbeDump(path) as dump:
        query_mask = np.repeat(dump.inputs().mask, 3, axis=1)
        distances = {}
        for block in range(dump.n_blocks):
            distances["mean", block] = attention_distance(dump.attention(block), "mean",
                                                          query_mask)
            distances["original", block] = attention_distance(dump.pseudo_attention(block),
                                                              "original")
        return distances, dump.n_blocks


def attention_tables(dumps: Dumps, coordinates: dict, epochs: list[int]
                     ) -> dict[str, pd.DataFrame]:
    """attention_distance per epoch, and attention_distance_gap of each epoch to epochs[0]."""
    distance_parts, gap_parts = [], []
    per_model = {model: {e: _distances(by_epoch[e]) for e in epochs}
                 for model, by_epoch in dumps.items()}
    reference = min(d[epochs[0]][1] for d in per_model.values())
    for model, by_epoch in per_model.items():
        first, n_blocks = by_epoch[epochs[0]]
        for epoch, (distances, _) in by_epoch.items():
            for (method, block), values in distances.items():
                where = {**coordinates, "model": model, "epoch": epoch, "method": method,
                         "block": block, "normalised_block": block * reference // n_blocks,
                         "sample": np.arange(len(values))}
                distance_parts.append(pd.DataFrame({**where, "distance": values}))
                if epoch != epochs[0]:
                    gap = attention_distance_gap(first[method, block], values)
                    gap_parts.append(pd.DataFrame({**where, "epoch_before": epochs[0],
                                                   "gap": gap}))
    return {"attention_distance": pd.concat(distance_parts, ignore_index=True),
            "attention_distance_gap": pd.concat(gap_parts, ignore_index=True)}
