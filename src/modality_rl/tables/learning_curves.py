"""Learning curves (Fig. 8, 9, 19, 20, 68-73; Tables 1, 2, 4) from runs' metrics.csv.

A run's metrics.csv is one wide row per epoch; here every value becomes a row with its
metric name and, for evaluation metrics, the target return it was evaluated with.
"""

from __future__ import annotations

import re

import pandas as pd

TARGET_COLUMN = re.compile(r"target_(?P<target>[0-9.e+-]+)_(?P<metric>.+)")


def learning_curve_table(metrics_csvs: dict[str, str], coordinates: dict) -> pd.DataFrame:
    """`metrics_csvs[model]` is that run's metrics.csv; `coordinates` the shared columns."""
    parts = []
    for model, path in metrics_csvs.items():
        wide = pd.read_csv(path)
        for column in wide.columns.drop("epoch"):
            match = TARGET_COLUMN.fullmatch(column)
            parts.append(pd.DataFrame({
                **coordinates, "model": model, "epoch": wide["epoch"],
                "metric": match["metric"] if match else column,
                "target_return": float(match["target"]) if match else float("nan"),
                "value": wide[column]}))
    return pd.concat(parts, ignore_index=True)
