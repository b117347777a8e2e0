"""Gradient tables (Fig. 5-7, 18, 57-67) for one (env, dataset, seed), from the probe
dumps of the gradient epoch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modality_rl.metrics.gradients import gradient_confusion, norm_shares
from modality_rl.probes.dump import ProbeDump
from modality_rl.tables import Dumps


def first_norm_parameters(names: list[str], first_norm: str) -> list[str]:
    """The parameters of the first block's first norm, which Fig. 7 singles out (GPT-2's
    0.ln_1.weight and 0.ln_1.bias; a Llama's 0.input_layernorm.weight)."""
    return [name for name in names if name.startswith(f"{first_norm}.")]


def gradient_tables(dumps: Dumps, coordinates: dict, epochs: list[int]
                    ) -> dict[str, pd.DataFrame]:
    """gradient_norms, gradient_confusion, gradient_norm_per_parameter, gradient_norm_share,
    from the dumps of the one epoch in `epochs` (the gradient probe's)."""
    (epoch,) = epochs
    norms, confusion, per_parameter, shares = [], [], [], []
    for model, by_epoch in dumps.items():
        with ProbeDump(by_epoch[epoch]) as dump:
            probe = dump.gradients()
            first_norm = dump.layer_names[0]  # block 0's first hooked module: its first norm
        base = {**coordinates, "model": model, "epoch": epoch}
        norms.append(pd.DataFrame({**base, "sample": np.arange(len(probe.sample_norms)),
                                   "norm": probe.sample_norms}))
        confusion.append({**base, "samples": len(probe.cosines),
                          "min_cosine": gradient_confusion(probe.cosines)})
        per_parameter.append(pd.DataFrame({
            **base, "parameter_index": np.arange(len(probe.parameter_names)),
            "parameter": probe.parameter_names, "norm": probe.parameter_norms}))
        shares.append(pd.DataFrame([{**base, "group": group, "share": share} for group, share
                                    in norm_shares(probe.parameter_names,
                                                   probe.parameter_norms,
                                                   first_norm_parameters(probe.parameter_names,
                                                                         first_norm)).items()]))
    return {"gradient_norms": pd.concat(norms, ignore_index=True),
            "gradient_confusion": pd.DataFrame(confusion),
            "gradient_norm_per_parameter": pd.concat(per_parameter, ignore_index=True),
            "gradient_norm_share": pd.concat(shares, ignore_index=True)}
