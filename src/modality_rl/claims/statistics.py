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

from modality_rl.bodies import swapped_block
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


def _depth_half(rows: pd.DataFrame, position: str) -> np.ndarray:
    """"/shallow" or "/deep": the half of each model's `position` axis a row lies in."""
    half = rows.groupby("model")[position].transform("max") / 2
    return np.where(rows[position] < half, "/shallow", "/deep")


@statistic("cka_pre_post")
def mean_cka_pre_post(tables: dict, token: str, split: str | None = None) -> pd.DataFrame:
    """Mean over layers of CKA(pre, post) at `token`, per model; split `depth_halves`: per
    model and half (shallow, deep) of the normalised layer axis. Null: cka_null."""
    rows = tables["cka_pre_post"]
    _columns(rows, "cka_pre_post", "cka", "cka_null")
    rows = rows[rows["token"] == token].copy()
    rows["subject"] = rows["model"]
    if split == "depth_halves":
        rows["subject"] += _depth_half(rows, "normalised_layer")
    elif split is not None:
        raise ValueError(f"mean_cka_pre_post: unknown split {split!r} (depth_halves)")
    return _summary(rows, "cka", null_column="cka_null")


@statistic("cka_between_models")
def mean_cka_between_models(tables: dict, token: str) -> pd.DataFrame:
    """Mean over every pair of layers of the CKA between two fine-tuned models at their
    last analysed epoch, per pair `a~b` (names in alphabetical order). Null: cka_null."""
    rows = tables["cka_between_models"]
    _columns(rows, "cka_between_models", "cka", "cka_null")
    rows = rows[rows["token"] == token]
    rows = rows[rows["epoch"] == rows.groupby(["env", "seed"])["epoch"].transform("max")]
    pairs = np.sort(rows[["model_a", "model_b"]].to_numpy(dtype=str), axis=1)
    rows = rows.assign(subject=[f"{a}~{b}" for a, b in pairs])
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


@statistic("mutual_information_data")
def mean_data_mi(tables: dict, variable: str) -> pd.DataFrame:
    """Mean MINE estimate over context steps of I(variable; action) in the probe batch, the
    data alone (Appendix H), with each env a subject: one row per env in env `all` (one
    batch, so "seed" 0). Null: mi_null."""
    rows = tables["mutual_information_data"]
    _columns(rows, "mutual_information_data", "mi", "mi_null")
    rows = rows[rows["variable"] == variable]
    if rows.empty:
        raise ClaimDataError(f"mutual_information_data has no variable {variable!r}")
    rows = rows.assign(subject=rows["env"], env="all", seed=0)
    return _summary(rows, "mi", null_column="mi_null")


@statistic("parameter_change")
def mean_parameter_change(tables: dict, column: str, split: str | None = None) -> pd.DataFrame:
    """Mean over the blocks' parameter sets of `column` (l2_distance, cosine_similarity),
    per model; split `depth_halves`: per model and half (shallow, deep) of its parameter
    sets, ordered from the shallowest."""
    rows = tables["parameter_change"]
    _columns(rows, "parameter_change", column, "parameter_index")
    rows = rows.assign(subject=rows["model"])
    if split == "depth_halves":
        rows["subject"] += _depth_half(rows, "parameter_index")
    elif split is not None:
        raise ValueError(f"mean_parameter_change: unknown split {split!r} (depth_halves)")
    return _summary(rows, column)


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
def mean_over_common_epochs(tables: dict, metric: str, runs: list[str]) -> pd.DataFrame:
    """Mean of `metric` over the trained epochs every one of `runs` (`experiment/model`,
    as `no_grad_clip/igpt`) has, per run: a 10-epoch experiment against the first 10 epochs
    of a 40-epoch one."""
    parts = []
    for run in runs:
        experiment, model = run.split("/")
        rows = _curve_rows(tables, experiment, metric)
        parts.append(rows[rows["model"] == model].assign(subject=run))
    rows = pd.concat(parts)
    last = rows.groupby(["env", "seed", "subject"])["epoch"].max().groupby(["env", "seed"]).min()
    rows = rows[rows["epoch"] <= rows.set_index(["env", "seed"]).index.map(last)]
    return _summary(rows, "value")


@statistic("learning_curves", "attention_distance_gap")
def gap_action_error_rank_correlation(tables: dict, epoch: int, experiment: str,
                                      swap_experiment: str, donor: str = "gpt2"
                                      ) -> pd.DataFrame:
    """Per run of `donor` (subject): the Spearman correlation over its blocks b between the
    mean attention-distance gap of block b at `epoch` in `experiment` (as
    mean_attention_gap) and the mean action error over the trained epochs of the
    `swap_experiment` run carrying block b (`<donor>_block<b>`). Positive: the smaller a
    block's gap, the lower (the faster falling) the action error its swap gives."""
    gaps = mean_attention_gap({"attention_distance_gap": tables["attention_distance_gap"][
        tables["attention_distance_gap"]["experiment"] == experiment]}, epoch, per_block=True)
    gaps = gaps[gaps["subject"].str.startswith(f"{donor}/block")]
    gaps = gaps.assign(block=gaps["subject"].str.removeprefix(f"{donor}/block").astype(int))
    errors = _curve_rows(tables, swap_experiment, "action_error")
    swaps = errors["model"].map(swapped_block)
    errors = errors[swaps.map(lambda swap: swap is not None and swap[0] == donor)]
    errors = errors.assign(block=swaps[errors.index].map(lambda swap: swap[1]))
    errors = errors.groupby(["env", "seed", "block"])["value"].mean().rename("error")
    both = gaps.set_index(["env", "seed", "block"])["value"].rename("gap").to_frame().join(
        errors, how="inner")
    if both.empty or both.groupby(["env", "seed"]).size().min() < 3:
        raise ClaimDataError(f"gap_action_error_rank_correlation: fewer than 3 blocks of "
                             f"{donor} with both an attention gap ({experiment}) and a swap "
                             f"run ({swap_experiment})")
    correlation = both.groupby(["env", "seed"]).apply(
        lambda run: run["gap"].corr(run["error"], method="spearman"))
    return correlation.rename("value").reset_index().assign(subject=donor, null=np.nan)


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
                       focus_block: int | None = None, per_block: bool = False
                       ) -> pd.DataFrame:
    """Mean over probe samples and blocks of the attention-distance gap to epoch 0 at
    `epoch` (a shorter run: its nearest earlier analysed epoch), per model; blocks in
    `exclude_blocks` left out; with `focus_block` b, per model `block{b}` against
    `other_blocks`; with `per_block`, per model and block (`<model>/block<b>`)."""
    rows = tables["attention_distance_gap"]
    rows = rows[(rows["method"] == method) & ~rows["block"].isin(exclude_blocks)]
    drawn = rows.groupby(["env", "seed"])["epoch"].transform(
        lambda epochs: panel_epoch(epoch, sorted(set(epochs))))
    rows = rows[rows["epoch"] == drawn].copy()
    rows["subject"] = rows["model"]
    if focus_block is not None:
        rows["subject"] += np.where(rows["block"] == focus_block, f"/block{focus_block}",
                                    "/other_blocks")
    elif per_block:
        rows["subject"] += "/block" + rows["block"].astype(str)
    return _summary(rows, "gap")
