"""Machine-readable summaries DVC shows: paper tables as metrics, learning curves as plots.

`dvc metrics show` reads the JSON of Tables 1, 2 and 4 (numbers only, nested env -> model
-> convention); `dvc plots show` draws the per-env CSVs of mean normalised score by epoch.
"""

from __future__ import annotations

import pandas as pd

from modality_rl.scores import CURVE_TARGET


def table_metrics(long: pd.DataFrame) -> dict:
    """{env: {model: {convention: {mean, std, seeds}}}} from a `paper_table` frame; a
    missing convention is left out (numbers only: its reason is in the table itself)."""
    metrics: dict = {}
    for row in long[long["missing_reason"] == ""].itertuples():
        metrics.setdefault(row.env, {}).setdefault(row.model, {})[row.convention] = {
            "mean": float(row.mean), "std": float(row.std), "seeds": int(row.seeds)}
    return metrics


def mean_score_curves(curves: pd.DataFrame, convention: str = "paper") -> pd.DataFrame:
    """One env's curves, wide: epoch and one column per model, the normalised score at the
    env's curve target averaged over seeds (epoch 0, the untrained model, included)."""
    (env,) = curves["env"].unique()
    rows = curves[(curves["metric"] == f"normalised_score_{convention}")
                  & (curves["target_return"] == CURVE_TARGET[env])]
    wide = rows.pivot_table(index="epoch", columns="model", values="value", aggfunc="mean")
    return wide.reset_index().rename_axis(columns=None)
