"""Parameter change between pre- and post-fine-tuning (Fig. 3, 4, 47-56)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import SubFigure
from matplotlib.ticker import MultipleLocator

from modality_rl.figures.catalogue import Panel, drawn_epoch
from modality_rl.figures.registry import Needs, drawer
from modality_rl.figures.style import PARAMETER_AXIS, in_paper_order, parameter_bars


def draw_parameter_change(fig: SubFigure, panel: Panel, table: pd.DataFrame, column: str,
                          ylabel: str) -> list[Axes]:
    """One row of bars per model (GPT2, iGPT, Random Init) of `column` between epoch 0
    and the drawn final epoch, rows sharing the y axis; returns the rows' axes."""
    table = table[table["epoch_before"] == 0]
    epoch = drawn_epoch(panel, table["epoch_after"])
    models = in_paper_order(panel.model_list)
    axes = fig.subplots(len(models), 1, sharey=True, squeeze=False)[:, 0]
    for ax, model in zip(axes, models):
        rows = table[(table["model"] == model) & (table["epoch_after"] == epoch)]
        parameter_bars(ax, rows, column, model)
        ax.set_ylabel(ylabel)
    axes[-1].set_xlabel(PARAMETER_AXIS)
    return list(axes)


@drawer("param_l2", Needs("parameter_change"), size=(14, 4.6))
def draw_param_l2(fig: SubFigure, panel: Panel, tables: dict[str, pd.DataFrame]) -> None:
    """L2 distance of each parameter set between pre- and post-fine-tuning, per model."""
    draw_parameter_change(fig, panel, tables["parameter_change"], "l2_distance",
                          r"$||\theta_T - \theta_0||_2$")


@drawer("param_cosine", Needs("parameter_change"), size=(14, 4.6))
def draw_param_cosine(fig: SubFigure, panel: Panel, tables: dict[str, pd.DataFrame]) -> None:
    """Cosine similarity of each parameter set between pre- and post-fine-tuning, per
    model, on the paper's 0 to 1 axis (ticks every 0.2)."""
    axes = draw_parameter_change(fig, panel, tables["parameter_change"], "cosine_similarity",
                                 r"$cossim(\theta_T, \theta_0)$")
    axes[0].set_ylim(0, 1)
    axes[0].yaxis.set_major_locator(MultipleLocator(0.2))
