"""Mutual information figures (Section 5.2, Appendix E, H.2): MINE estimates between data
and hidden representations over the context (Fig. 2, 44-46), per block without context
(Fig. 17), and between data at the same step (Fig. 22).
"""

from __future__ import annotations

import re

from matplotlib.figure import SubFigure
from matplotlib.ticker import MaxNLocator

from modality_rl.figures.catalogue import Panel, rows_at_drawn_epoch
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


def panel_depth(panel: Panel) -> str:
    """shallow / middle / deep, from the paper's block number in the panel's detail."""
    return PAPER_DEPTHS[int(re.match(r"block (\d+)", panel.detail).group(1))]


def draw_hidden(fig: SubFigure, panel: Panel, tables: dict, quantity: str) -> None:
    """MINE estimate for each token x_p of the context at the panel's depth: one line per
    model over the positions, a marker per token type; diverged (NaN) estimates dropped."""
    ax = fig.subplots()
    rows = rows_at_drawn_epoch(panel, tables["mutual_information_hidden"])
    rows = rows[(rows["depth"] == panel_depth(panel)) & (rows["quantity"] == quantity)]
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


def draw_no_context(fig: SubFigure, panel: Panel, tables: dict, quantity: str) -> None:
    """MINE estimate per normalised block without context: mean over steps t of the
    estimate (iGPT's block pairs averaged first), with a ±std band over the steps."""
    ax = fig.subplots()
    rows = rows_at_drawn_epoch(panel, tables["mutual_information_no_context"])
    rows = rows[rows["quantity"] == quantity]
    for model in panel.model_list:
        per_step = rows[rows["model"] == model].groupby(["normalised_block", "step"])["mi"].mean()
        blocks = per_step.groupby("normalised_block").agg(["mean", "std"])
        colour = MODEL_COLOURS[model]
        ax.plot(blocks.index, blocks["mean"], color=colour, marker="o", markersize=3,
                linewidth=1.5, label=MODEL_LABELS[model])
        ax.fill_between(blocks.index, blocks["mean"] - blocks["std"],
                        blocks["mean"] + blocks["std"], color=colour, alpha=0.2, linewidth=0)
    ax.set(xlabel="Normalized Transformer Block", ylabel=QUANTITY_LABELS[quantity])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    line_legend(ax, "upper right")


@drawer("mi_no_context_state", Needs("mutual_information_no_context"))
def draw_mi_no_context_state(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """I(s_t; T_l(s_t)) per block, context not considered (Appendix E.3)."""
    draw_no_context(fig, panel, tables, "input")


@drawer("mi_no_context_action", Needs("mutual_information_no_context"))
def draw_mi_no_context_action(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """I(a_t; T_l(s_t)) per block, context not considered (Appendix E.3)."""
    draw_no_context(fig, panel, tables, "label")


@drawer("mi_data", Needs("mutual_information_data"))
def draw_mi_data(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """Box plot per env of the MINE estimates, one per step t, between the state (panel a)
    or the return-to-go (panel b) and the action of the same step."""
    variable, ylabel = DATA_VARIABLES[panel.detail.split()[0]]
    rows = tables["mutual_information_data"]
    rows = rows[rows["variable"] == variable]
    estimates = [rows.loc[rows["env"] == env, "mi"].dropna() for env in panel.envs]
    ax = fig.subplots()
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
