"""Learning curves (Fig. 8, 9, 19, 20, 68-73; Tables 1, 2, 4) from runs' metrics.csv.

A run's metrics.csv is one wide row per epoch; here every value becomes a row with its
metric name and, for evaluation metrics, the target return it was evaluated with.
"""

from __future__ import annotations

import os
import re

import pandas as pd

from modality_rl.inputs import damaged, read_run_metrics, read_table
from modality_rl.scores import CONVENTIONS, CURVE_TARGET

TARGET_COLUMN = re.compile(r"target_(?P<target>[0-9.e+-]+)_(?P<metric>.+)")


def learning_curve_table(metrics_csvs: dict[str, str], coordinates: dict,
                         last_epochs: dict[str, int]) -> pd.DataFrame:
    """`metrics_csvs[model]` is that run's metrics.csv, checked to hold every epoch
    0..`last_epochs[model]` in numbers; `coordinates` are the shared columns."""
    parts = []
    for model, path in metrics_csvs.items():
        wide = read_run_metrics(path, last_epochs[model])
        for column in wide.columns.drop("epoch"):
            match = TARGET_COLUMN.fullmatch(column)
            parts.append(pd.DataFrame({
                **coordinates, "model": model, "epoch": wide["epoch"],
                "metric": match["metric"] if match else column,
                "target_return": float(match["target"]) if match else float("nan"),
                "value": wide[column]}))
    return pd.concat(parts, ignore_index=True)


def read_curves(path: str | os.PathLike, last_epoch: int) -> pd.DataFrame:
    """A learning_curves partition, checked as its metrics.csv files were: every run has
    every epoch 0..last_epoch, and the values are numbers."""
    curves = read_table(path)
    if not pd.api.types.is_numeric_dtype(curves["value"]):
        raise damaged(path, "table", "its values are not all numbers")
    for (model, metric), rows in curves.groupby(["model", "metric"]):
        epochs = sorted(int(epoch) for epoch in rows["epoch"].unique())
        if epochs != list(range(last_epoch + 1)):
            raise damaged(path, "table", f"{model}'s {metric} has epochs {epochs}, the runs "
                                         f"have 0..{last_epoch}")
    return curves


def best_epoch_scores(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run (model, env, seed): its best epoch and normalised scores there."""
    rows = []
    trained = curves[(curves["epoch"] > 0) & curves["target_return"].notna()]
    for (model, env, seed), run in trained.groupby(["model", "env", "seed"]):
        at_target = run[run["target_return"] == CURVE_TARGET[env]]
        wide = at_target.pivot(index="epoch", columns="metric", values="value")
        best = wide["return_mean"].idxmax()
        rows.append({"model": model, "env": env, "seed": seed, "best_epoch": best,
                     "return_mean": wide.loc[best, "return_mean"],
                     **{f"score_{c}": wide.loc[best, f"normalised_score_{c}"]
                        for c in CONVENTIONS}})
    return pd.DataFrame(rows)
