"""Attention distance gap between epoch 0 and a later epoch (Fig. 10, 74-77)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import SubFigure
from matplotlib.patches import Patch

from modality_rl.figures.catalogue import Panel, drawn_epoch
from modality_rl.figures.registry import Needs, drawer
from modality_rl.figures.style import BOX_LINE, MODEL_COLOURS, MODEL_LABELS, boxes, in_paper_order

METHOD = "mean"  # the head- and query-averaged distance (the table also has "original")
GROUP_WIDTH = 0.8  # the width the models' boxes of one block share, as seaborn's dodge


@drawer("attention_distance_gap", Needs("attention_distance_gap"), size=(4.2, 2.8))
def draw_attention_distance_gap(fig: SubFigure, panel: Panel,
                                tables: dict[str, pd.DataFrame]) -> None:
    """Box plot per Transformer block and model (side by side) of the per-sample gap
    |d_att(epoch) - d_att(0)| at the epoch that stands for the panel's."""
    ax = fig.subplots()
    table = tables["attention_distance_gap"]
    table = table[table["method"] == METHOD]
    epoch = drawn_epoch(panel, table["epoch"])
    models = in_paper_order(panel.model_list)
    # Only the panel's models: another probed model (a 24-block igpt) would widen the axis.
    table = table[(table["epoch"] == epoch) & table["model"].isin(models)]
    width = GROUP_WIDTH / len(models)
    for offset, model in enumerate(models):
        rows = table[table["model"] == model]
        blocks = sorted(rows["block"].unique())
        samples = [rows.loc[rows["block"] == b, "gap"].to_numpy() for b in blocks]
        shift = (offset + 0.5) * width - GROUP_WIDTH / 2
        boxes(ax, samples, [b + shift for b in blocks], MODEL_COLOURS[model], width)
    blocks = sorted(table["block"].unique())
    ax.set_xticks(blocks, [str(b) for b in blocks])
    ax.set_xlabel("Transformer Block")
    before = table["epoch_before"].iloc[0]
    ax.set_ylabel(rf"$|d_{{att}}({epoch}) - d_{{att}}({before})|$")
    ax.legend(handles=[Patch(facecolor=MODEL_COLOURS[m], edgecolor=BOX_LINE,
                             label=MODEL_LABELS[m]) for m in models], loc="upper left")
