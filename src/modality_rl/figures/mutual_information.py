"""Mutual information figures (Section 5.2, Appendix E, H.2): MINE estimates between data
and hidden representations over the context (Fig. 2, 44-46), per block without context
(Fig. 17), and between data at the same step (Fig. 22).

Each panel also draws the shuffled-pair null (`mi_null`) as a grey band: what the same
estimator reports when x and z are unrelated. An estimate inside the band carries no
evidence of dependence.
"""

from __future__ import annotations

import re

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import SubFigure
from matplotlib.ticker import MaxNLocator

from modality_rl.figures.catalogue import Panel, rows_at_drawn_epoch
from modality_rl.figures.options import BAND_METHODS, FigureOptions
from modality_rl.figures.registry import Needs, drawer
from modality_rl.figures.style import MODEL_COLOURS, MODEL_LABELS, TOKEN_MARKERS, line_legend

# The paper's block (of 12) in a panel's detail, "block 6 output ...", and its depth.
PAPER_DEPTHS = {0: "shallow", 6: "middle", 11: "deep"}
QUANTITY_LABELS = {"input": r"$\hat{I}(X;T)$", "label": r"$\hat{I}(Y;T)$"}
# Fig. 22: the detail's first word, the table's variable, and the paper's y label.
DATA_VARIABLES = {"I(s_t;a_t)": ("state", r"$\hat{I}(S;T)$"),
                  "I(R_t;a_t)": ("return_to_go", r"$\hat{I}(\hat{R};T)$")}
ENV_LABELS = {"hopper": "Hopper", "halfcheetah": "Halfcheetah", "walker2d": "Walker2d"}
ENV_COLOURS = {"hopper": MODEL_COLOURS["gpt2"], "halfcheetah": MODEL_COLOURS["random"],
               "walker2d": MODEL_COLOURS["igpt"]}  # Fig. 22's box colours
BOX_EDGE = (0.24, 0.24, 0.24)
NULL_COLOUR = (0.6, 0.6, 0.6)
NULL_LABEL = "shuffled-pair null"


def panel_depth(panel: Panel) -> str:
    """shallow / middle / deep, from the paper's block number in the panel's detail."""
    return PAPER_DEPTHS[int(re.match(r"block (\d+)", panel.detail).group(1))]


def null_band(ax: Axes, x, low, high, label: str | None = NULL_LABEL) -> None:
    """The null's range (low..high at each x) as a grey band behind the estimates."""
    ax.fill_between(x, low, high, color=NULL_COLOUR, alpha=0.3, linewidth=0, zorder=0,
                    label=label)


def draw_hidden(fig: SubFigure, panel: Panel, tables: dict, quantity: str) -> None:
    """MINE estimate for each token x_p of the context at the panel's depth: one line per
    model over the positions, a marker per token type; diverged (NaN) estimates dropped.
    The band spans the models' nulls at each position."""
    ax = fig.subplots()
    rows = rows_at_drawn_epoch(panel, tables["mutual_information_hidden"])
    rows = rows[(rows["depth"] == panel_depth(panel)) & (rows["quantity"] == quantity)
                & rows["model"].isin(panel.model_list)]
    nulls = rows.groupby("position")["mi_null"].agg(["min", "max"])
    null_band(ax, nulls.index, nulls["min"], nulls["max"])
    for model in panel.model_list:
        estimates = rows[rows["model"] == model].dropna(subset=["mi"]).sort_values("position")
        colour = MODEL_COLOURS[model]
        ax.plot(estimates["position"], estimates["mi"], color=colour, linewidth=1.5,
                label=MODEL_LABELS[model])
        for token, marker in TOKEN_MARKERS.items():
            points = estimates[estimates["token"] == token]
            ax.plot(points["position"], points["mi"], color=colour, marker=marker,
                    markersize=4, markeredgewidth=1.5, linestyle="none")
    ax.set(xlabel="Context", ylabel=QUANTITY_LABELS[quantity])
    ax.legend(loc="upper left")


@drawer("mi_hidden_input", Needs("mutual_information_hidden"))
def draw_mi_hidden_input(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """I(x_p; T_l(s_K)): each context token against the last state's representation."""
    draw_hidden(fig, panel, tables, "input")


@drawer("mi_hidden_label", Needs("mutual_information_hidden"))
def draw_mi_hidden_label(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """I(a_K; T_l(x_p)): each context token's representation against the last action."""
    draw_hidden(fig, panel, tables, "label")


def block_band(rows: pd.DataFrame, method: str, column: str = "mi") -> pd.DataFrame:
    """Mean and std over the steps t of one model's `column`, per normalised block.

    `released` (plot_mutual_information.py): nanmean and nanstd (ddof 0) over the steps of
    each block, then both averaged over the blocks of a normalised block (iGPT's pairs).
    `pooled`: the blocks of a normalised block averaged per step, then mean and std
    (ddof 1) over the steps. The means agree where nothing diverged; the bands differ.
    """
    if method not in BAND_METHODS:
        raise ValueError(f"unknown band method {method!r}; use one of {BAND_METHODS}")
    if method == "released":
        per_block = rows.groupby(["normalised_block", "block"])[column].agg(
            mean="mean", std=lambda values: values.std(ddof=0))
        return per_block.groupby("normalised_block").mean()
    per_step = rows.groupby(["normalised_block", "step"])[column].mean()
    return per_step.groupby("normalised_block").agg(["mean", "std"])


def draw_no_context(fig: SubFigure, panel: Panel, tables: dict, quantity: str,
                    method: str) -> None:
    """MINE estimate per normalised block without context: mean over steps t of the
    estimate with a ±std band over the steps (`method`: figures.no_context_band); the
    grey band spans the models' mean nulls."""
    ax = fig.subplots()
    rows = rows_at_drawn_epoch(panel, tables["mutual_information_no_context"])
    rows = rows[(rows["quantity"] == quantity) & rows["model"].isin(panel.model_list)]
    nulls = rows.groupby(["model", "normalised_block"])["mi_null"].mean().groupby(
        "normalised_block").agg(["min", "max"])
    null_band(ax, nulls.index, nulls["min"], nulls["max"])
    for model in panel.model_list:
        blocks = block_band(rows[rows["model"] == model], method)
        colour = MODEL_COLOURS[model]
        ax.plot(blocks.index, blocks["mean"], color=colour, marker="o", markersize=3,
                linewidth=1.5, label=MODEL_LABELS[model])
        ax.fill_between(blocks.index, blocks["mean"] - blocks["std"],
                        blocks["mean"] + blocks["std"], color=colour, alpha=0.2, linewidth=0)
    ax.set(xlabel="Normalized Transformer Block", ylabel=QUANTITY_LABELS[quantity])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    line_legend(ax, "upper right")


@drawer("mi_no_context_state", Needs("mutual_information_no_context"), options=True)
def draw_mi_no_context_state(fig: SubFigure, panel: Panel, tables: dict,
                             options: FigureOptions) -> None:
    """I(s_t; T_l(s_t)) per block, context not considered (Appendix E.3)."""
    draw_no_context(fig, panel, tables, "input", options.no_context_band)


@drawer("mi_no_context_action", Needs("mutual_information_no_context"), options=True)
def draw_mi_no_context_action(fig: SubFigure, panel: Panel, tables: dict,
                              options: FigureOptions) -> None:
    """I(a_t; T_l(s_t)) per block, context not considered (Appendix E.3)."""
    draw_no_context(fig, panel, tables, "label", options.no_context_band)


@drawer("mi_data", Needs("mutual_information_data"), models="fixed")
def draw_mi_data(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """Box plot per env of the MINE estimates, one per step t, between the state (panel a)
    or the return-to-go (panel b) and the action of the same step; behind each box, the
    range of its nulls."""
    variable, ylabel = DATA_VARIABLES[panel.detail.split()[0]]
    rows = tables["mutual_information_data"]
    rows = rows[rows["variable"] == variable]
    estimates = [rows.loc[rows["env"] == env, "mi"].dropna() for env in panel.envs]
    ax = fig.subplots()
    for position, env in enumerate(panel.envs, start=1):
        nulls = rows.loc[rows["env"] == env, "mi_null"]
        null_band(ax, [position - 0.45, position + 0.45], nulls.min(), nulls.max(),
                  NULL_LABEL if position == 1 else None)
    boxes = ax.boxplot(estimates, widths=0.8, patch_artist=True,
                       medianprops={"color": BOX_EDGE, "linewidth": 1.5},
                       whiskerprops={"color": BOX_EDGE, "linewidth": 1.5},
                       capprops={"color": BOX_EDGE, "linewidth": 1.5},
                       flierprops={"marker": "d", "markerfacecolor": BOX_EDGE,
                                   "markeredgecolor": BOX_EDGE, "markersize": 5})
    for box, env in zip(boxes["boxes"], panel.envs):
        box.set(facecolor=ENV_COLOURS[env], edgecolor=BOX_EDGE, linewidth=1.5)
    ax.set_xticks(range(1, len(panel.envs) + 1), [ENV_LABELS[env] for env in panel.envs])
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right")
