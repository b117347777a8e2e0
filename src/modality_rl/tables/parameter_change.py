"""Parameter change table (Fig. 3, 4, 47-56) for one (env, dataset, seed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modality_rl.checkpoints import load_checkpoint
from modality_rl.metrics.parameter_change import block_parameters, parameter_change
from modality_rl.tables import Dumps


def parameter_change_tables(checkpoints: Dumps, coordinates: dict, epochs: list[int]
                            ) -> dict[str, pd.DataFrame]:
    """parameter_change: L2 distance and cosine per block parameter set, epochs[0] vs
    epochs[1]. `checkpoints[model][epoch]` is the checkpoint file."""
    before, after = epochs
    parts = []
    for model, by_epoch in checkpoints.items():
        weights = [block_parameters(load_checkpoint(by_epoch[e])) for e in epochs]
        change = parameter_change(*weights)
        parts.append(pd.DataFrame({
            **coordinates, "model": model, "epoch_before": before, "epoch_after": after,
            "parameter_index": np.arange(len(change)), "parameter": list(change),
            "l2_distance": [v[0] for v in change.values()],
            "cosine_similarity": [v[1] for v in change.values()]}))
    return {"parameter_change": pd.concat(parts, ignore_index=True)}
