"""The statistics claims are tested with, computed from the metric tables only.

Each returns one row per (env, seed, subject): `value`, and `null`, the NULL_QUANTILE of
the null baseline values (`mi_null`, `cka_null`) the statistic averages over, NaN where
it has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modality_rl.figures.catalogue import panel_epoch
from modality_rl.tables.learning_curves import best_epoch_scores
from modality_rl.scores import CURVE_TARGET

NULL_QUANTILE = 0.95
LAYER_NORMS = ("ln_1", "ln_2")


class ClaimDataError(ValueError):
    """A table lacks what a statistic reads: the claim is inconclusive, with this reason."""


@dataclass(frozen=True)
class Statistic:
    tables: tuple[str, ...]
    # compute(tables, **parameters) -> one row per env, seed, subject: value, null
    compute: Callable[..., pd.DataFrame]


STATISTICS: dict[str, Statistic] = {}


def statistic(*tables: str):
    """Register `compute(tables, **parameters)` under its name, reading `tables`."""
    def register(compute):
        STATISTICS[compute.__name__] = Statistic(tables, compute)
        return compute
    return register


def _columns(rows: pd.DataFrame, table: str, *columns: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ClaimDataError(f"table {table} has no column {', '.join(missing)} "
                             "(made by older code? rebuild it)")


def _summary(rows: pd.DataFrame, column: str, how: str = "mean",
             null_column: str | None = None) -> pd.DataFrame:
    """One row per (env, seed, subject): `how` of `column`, and the NULL_QUANTILE of
    `null_column` over the same rows (NaN without one)."""
    grouped = rows.groupby(["env", "seed", "subject"])
    summary = grouped[column].agg(how).rename("value").to_frame()
    summary["null"] = grouped[null_column].quantile(NULL_QUANTILE) if null_column else np.nan
    return summary.reset_index()


@statistic("cka_pre_post")
def mean_cka_pre_post(tables: dict, token: str, split: str | None = None) -> pd.DataFrame:
    """Mean over layers of CKA(pre, post) at `token`, per model; split `depth_halves`: per
    model and half (shallow, deep) of the normalised layer axis. Null: cka_null."""
    rows = tables["cka_pre_post"]
    _columns(rows, "cka_pre_post", "cka", "cka_null")
    rows = rows[rows["token"] == token].copy()
    rows["subject"] = rows["model"]
    if split == "depth_halves":
        half = rows.groupby("model")["normalised_layer"].transform("max") / 2
        rows["subject"] += np.where(rows["normalised_layer"] < half, "/shallow", "/deep")
    elif split is not None:
        raise ValueError(f"mean_cka_pre_post: unknown split {split!r} (depth_halves)")
    return _summary(rows, "cka", null_column="cka_null")


@statistic("cka_layers_above_threshold")
def layer_norm_share_above_threshold(tables: dict, model: str, token: str,
                                     threshold: float) -> pd.DataFrame:
    """Share of ln_1/ln_2 layers among `model`'s layers whose CKA(pre, post) at `token`
    exceeds `threshold`; NaN for a run with no such layer."""
    rows = tables["cka_layers_above_threshold"]
    runs = rows[["env", "seed"]].drop_duplicates()
    rows = rows[(rows["model"] == model) & (rows["token"] == token)
                & np.isclose(rows["threshold"], threshold)].copy()
    rows["is_norm"] = rows["layer"].str.split(".").str[-1].isin(LAYER_NORMS)
    shares = rows.groupby(["env", "seed"])["is_norm"].mean().rename("value").reset_index()
    shares = runs.merge(shares, how="left", on=["env", "seed"])
    return shares.assign(subject=model, null=np.nan)


@statistic("mutual_information_hidden")
def mean_mi(tables: dict, depth: str, quantity: str, split: str | None = None) -> pd.DataFrame:
    """Mean MINE estimate over context positions (diverged ones dropped) at `depth` for
    `quantity` (input, label), per model; split `token`: per model and token type.
    Null: mi_null."""
    rows = tables["mutual_information_hidden"]
    _columns(rows, "mutual_information_hidden", "mi", "mi_null")
    rows = rows[(rows["depth"] == depth) & (rows["quantity"] == quantity)].copy()
    rows["subject"] = rows["model"]
    if split == "token":
        rows["subject"] += "/" + rows["token"]
    elif split is not None:
        raise ValueError(f"mean_mi: unknown split {split!r} (token)")
    return _summary(rows, "mi", null_column="mi_null")


@statistic("parameter_change")
def mean_parameter_change(tables: dict, column: str) -> pd.DataFrame:
    """Mean over the blocks' parameter sets of `column` (l2_distance, cosine_similarity)."""
    rows = tables["parameter_change"]
    _columns(rows, "parameter_change", column)
    return _summary(rows.assign(subject=rows["model"]), column)


@statistic("gradient_confusion")
def min_gradient_cosine(tables: dict) -> pd.DataFrame:
    """The minimum pairwise cosine of the per-sample gradients, per model."""
    rows = tables["gradient_confusion"]
    return _summary(rows.assign(subject=rows["model"]), "min_cosine", "min")


@statistic("gradient_norms")
def median_gradient_norm(tables: dict) -> pd.DataFrame:
    """The median of the clipped per-sample gradient norms, per model."""
    rows = tables["gradient_norms"]
    return _summary(rows.assign(subject=rows["model"]), "norm", "median")


@statistic("gradient_norm_share")
def gradient_norm_share(tables: dict, model: str, groups: list[str]) -> pd.DataFrame:
    """`model`'s summed share of the gradient norm held by the parameter `groups`."""
    rows = tables["gradient_norm_share"]
    rows = rows[(rows["model"] == model) & rows["group"].isin(groups)]
    return _summary(rows.assign(subject=model), "share", "sum")


def _curve_rows(tables: dict, experiment: str, metric: str) -> pd.DataFrame:
    """`metric` of the experiment's trained epochs; evaluation metrics at the curve target."""
    rows = tables["learning_curves"]
    rows = rows[(rows["experiment"] == experiment) & (rows["metric"] == metric)
                & (rows["epoch"] > 0)]
    if metric != "action_error":
        rows = rows[rows["target_return"] == rows["env"].map(CURVE_TARGET)]
    if rows.empty:
        raise ClaimDataError(f"learning_curves has no {metric} of experiment {experiment}")
    return rows


@statistic("learning_curves")
def mean_over_epochs(tables: dict, experiment: str, metric: str,
                     focus: str | None = None) -> pd.DataFrame:
    """Mean over the trained epochs of `metric` (action_error, return_mean,
    normalised_score_paper, ...) per model of `experiment`; with `focus`, the focused
    model against `others`, the mean of every other model."""
    rows = _curve_rows(tables, experiment, metric).copy()
    rows["subject"] = rows["model"]
    if focus is not None:
        rows.loc[rows["model"] != focus, "subject"] = "others"
    return _summary(rows, "value")


@statistic("learning_curves")
def best_normalised_score(tables: dict, convention: str = "paper") -> pd.DataFrame:
    """The best-epoch normalised score of Tables 1, 2, 4, per `experiment/model`."""
    rows = tables["learning_curves"]
    scores = []
    for experiment, runs in rows.groupby("experiment"):
        best = best_epoch_scores(runs)
        scores.append(best.assign(subject=experiment + "/" + best["model"],
                                  value=best[f"score_{convention}"]))
    return pd.concat(scores)[["env", "seed", "subject", "value"]].assign(null=np.nan)


@statistic("attention_distance_gap")
def mean_attention_gap(tables: dict, epoch: int, method: str = "mean",
                       exclude_blocks: tuple[int, ...] = (),
                       focus_block: int | None = None) -> pd.DataFrame:
    """Mean over probe samples and blocks of the attention-distance gap to epoch 0 at
    `epoch` (a shorter run: its nearest earlier analysed epoch), per model; blocks in
    `exclude_blocks` left out; with `focus_block` b, per model `block{b}` against
    `other_blocks`."""
    rows = tables["attention_distance_gap"]
    rows = rows[(rows["method"] == method) & ~rows["block"].isin(exclude_blocks)]
    drawn = rows.groupby(["env", "seed"])["epoch"].transform(
        lambda epochs: panel_epoch(epoch, sorted(set(epochs))))
    rows = rows[rows["epoch"] == drawn].copy()
    rows["subject"] = rows["model"]
    if focus_block is not None:
        rows["subject"] += np.where(rows["block"] == focus_block, f"/block{focus_block}",
                                    "/other_blocks")
    return _summary(rows, "gap")
