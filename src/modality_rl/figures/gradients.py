"""Gradients at the gradient epoch (1): confusion, norms and iGPT's norm per parameter
(Fig. 5, 6, 7, 18, 57-67)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import SubFigure

from modality_rl.figures.catalogue import Panel, rows_at_drawn_epoch
from modality_rl.figures.registry import Needs, drawer
from modality_rl.figures.style import (MODEL_COLOURS, MODEL_LABELS, PAPER_ORDER, PARAMETER_AXIS,
                                       boxes, in_paper_order, parameter_bars)

CLIPPED_NORM_AXIS = "Clipped Gradient Norm"
CLIP_NORM = 0.25  # training's clipping threshold: the paper's norm axes end there
SHARE_COLOURS = [MODEL_COLOURS[m] for m in PAPER_ORDER]  # Fig. 7's three groups, in order


def model_axis(ax: Axes, models: list[str]) -> None:
    """Categorical x axis of the models' labels, as the paper's per-model panels have."""
    ax.set_xticks(range(len(models)), [MODEL_LABELS[m] for m in models])
    ax.set_xlim(-0.5, len(models) - 0.5)


@drawer("grad_confusion", Needs("gradient_confusion"), size=(4.2, 2.8))
def draw_grad_confusion(fig: SubFigure, panel: Panel, tables: dict[str, pd.DataFrame]) -> None:
    """Gradient confusion: one bar per model of the minimum pairwise cosine similarity of
    the clipped per-sample gradients."""
    ax = fig.subplots()
    rows = rows_at_drawn_epoch(panel, tables["gradient_confusion"]).set_index("model")
    models = in_paper_order(panel.model_list)
    ax.bar(range(len(models)), rows.loc[models, "min_cosine"], width=0.8,
           color=[MODEL_COLOURS[m] for m in models])
    model_axis(ax, models)
    ax.set_ylabel(r"Min of $cossim(\nabla_\theta \ell_1, \nabla_\theta \ell_2)$")


@drawer("grad_norm", Needs("gradient_norms"), size=(4.2, 2.8))
def draw_grad_norm(fig: SubFigure, panel: Panel, tables: dict[str, pd.DataFrame]) -> None:
    """Box plot per model of the norms of the clipped per-sample gradients; the axis ends
    at the clipping threshold as in the paper."""
    ax = fig.subplots()
    rows = rows_at_drawn_epoch(panel, tables["gradient_norms"])
    models = in_paper_order(panel.model_list)
    for position, model in enumerate(models):
        boxes(ax, [rows.loc[rows["model"] == model, "norm"].to_numpy()], [position],
              MODEL_COLOURS[model], 0.8)
    model_axis(ax, models)
    ax.set_ylim(top=CLIP_NORM)
    ax.set_ylabel(CLIPPED_NORM_AXIS)


@drawer("grad_norm_ratio", Needs("gradient_norm_share"), size=(6.4, 4.3), models="per_model")
def draw_grad_norm_ratio(fig: SubFigure, panel: Panel, tables: dict[str, pd.DataFrame]) -> None:
    """One horizontal bar of iGPT's gradient norm, stacked by the shares of
    0.ln_1.weight, 0.ln_1.bias and the others, with the legend inside below it."""
    ax = fig.subplots()
    table = rows_at_drawn_epoch(panel, tables["gradient_norm_share"])
    rows = table[table["model"] == panel.model_list[0]]
    left = 0.0
    for colour, group, share in zip(SHARE_COLOURS, rows["group"], rows["share"]):
        ax.barh(0, share, left=left, height=0.5, color=colour, edgecolor="white", label=group)
        left += share
    ax.set(xlim=(0, 1), ylim=(-0.5, 0.5), yticks=[])
    ax.set_xlabel("Gradient Norm Ratio", fontsize=15)
    ax.tick_params(labelsize=15)
    ax.legend(loc="lower center", ncol=3, fontsize=14)


@drawer("grad_norm_per_param", Needs("gradient_norm_per_parameter"), size=(14, 2.6),
        models="per_model")
def draw_grad_norm_per_param(fig: SubFigure, panel: Panel, tables: dict[str, pd.DataFrame]
                             ) -> None:
    """Norm of iGPT's clipped whole-batch gradient per parameter set, as bars."""
    ax = fig.subplots()
    table = rows_at_drawn_epoch(panel, tables["gradient_norm_per_parameter"])
    model = panel.model_list[0]
    parameter_bars(ax, table[table["model"] == model], "norm", model)
    ax.set_ylim(0, CLIP_NORM)
    ax.set_xlabel(PARAMETER_AXIS, fontsize=13)
    ax.set_ylabel(CLIPPED_NORM_AXIS, fontsize=13)
