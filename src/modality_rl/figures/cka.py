"""CKA figures (Section 5.1, Appendix D): layer-wise CKA between pre- and post-fine-tuning
(Fig. 1, 23-27) and heat maps of CKA between two models (Fig. 12, 28-35) and within one
model (Fig. 13, 14, 36-43), from the cka_* tables.

Each also shows the permutation floor (`cka_null`): the layer-wise panels as a grey band
spanning the models' floors, the heat maps as a white tick on the colour bar at the
largest floor value of the panel. CKA below the floor is no evidence of similarity.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import SubFigure

from modality_rl.figures.catalogue import Panel, rows_at_drawn_epoch
from modality_rl.figures.registry import Needs, drawer
from modality_rl.figures.style import MODEL_COLOURS, MODEL_LABELS, line_legend

# Section 5.1: "a threshold (dashed line at 0.23 in Fig. 1 (a))"; no other panel draws one.
THRESHOLD_LINES = {(1, "a"): 0.23}
# seaborn's "rocket" colour map, the paper's heat maps, from nine of its 256 entries.
ROCKET = LinearSegmentedColormap.from_list("rocket", [
    (0.011, 0.018, 0.100), (0.186, 0.092, 0.227), (0.381, 0.121, 0.325),
    (0.591, 0.108, 0.358), (0.797, 0.105, 0.311), (0.927, 0.298, 0.243),
    (0.959, 0.533, 0.375), (0.966, 0.738, 0.601), (0.981, 0.921, 0.865)])
HEATMAP_TICKS = 18  # at most this many layer labels along the longer axis
FLOOR_COLOUR = (0.6, 0.6, 0.6)


@drawer("cka_layerwise_pre_post", Needs("cka_pre_post"))
def draw_cka_layerwise_pre_post(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """CKA of each layer between the untrained and the fine-tuned model, one line per
    model on the normalised layer axis (iGPT's layers 2i and 2i+1 averaged)."""
    ax = fig.subplots()
    rows = tables["cka_pre_post"]
    rows = rows[(rows["token"] == panel.token) & rows["model"].isin(panel.model_list)]
    floors = rows.groupby(["model", "normalised_layer"])["cka_null"].mean().groupby(
        "normalised_layer").agg(["min", "max"])
    ax.fill_between(floors.index, floors["min"], floors["max"], color=FLOOR_COLOUR, alpha=0.3,
                    linewidth=0, zorder=0, label="permutation floor")
    for model in panel.model_list:
        cka = rows[rows["model"] == model].groupby("normalised_layer")["cka"].mean()
        ax.plot(cka.index, cka.values, color=MODEL_COLOURS[model], marker="o", markersize=3,
                linewidth=1.5, label=MODEL_LABELS[model])
    if (panel.figure, panel.panel) in THRESHOLD_LINES:
        ax.axhline(THRESHOLD_LINES[panel.figure, panel.panel], color="grey",
                   linestyle="dashed", linewidth=1.2)
    ax.set(xlabel="Normalized Layer", ylabel="CKA", ylim=(min(0, floors["min"].min()), 1))
    line_legend(ax, "upper right")


def layer_axis_label(model: str) -> str:
    return f"{MODEL_LABELS[model].upper()} Layers"


def draw_heatmap(fig: SubFigure, rows: pd.DataFrame, model_a: str, model_b: str) -> None:
    """CKA of every layer of `model_a` (rows, upwards) against every layer of `model_b`
    (columns), square cells coloured 0-1 with a colour bar, as seaborn's heatmap; the
    white tick on the bar is the largest permutation floor of the panel's cells."""
    matrix = rows.pivot(index="layer_index_a", columns="layer_index_b", values="cka")
    ax = fig.subplots()
    image = ax.imshow(matrix.values, cmap=ROCKET, vmin=0, vmax=1, origin="lower",
                      interpolation="nearest")
    colour_bar = fig.colorbar(image, ax=ax)
    colour_bar.outline.set_visible(False)
    colour_bar.ax.axhline(max(rows["cka_null"].max(), 0), color="white", linewidth=1.5)
    label_layers(ax, matrix)
    ax.set(xlabel=layer_axis_label(model_b), ylabel=layer_axis_label(model_a))
    ax.spines[:].set_visible(False)


def label_layers(ax: Axes, matrix: pd.DataFrame) -> None:
    """Layer indices at every n-th cell, the same n on both axes."""
    step = math.ceil(max(matrix.shape) / HEATMAP_TICKS)
    ax.set_yticks(range(0, len(matrix.index), step), matrix.index[::step])
    ax.set_xticks(range(0, len(matrix.columns), step), matrix.columns[::step], rotation=90)


@drawer("cka_between_models", Needs("cka_between_models"), size=(4.8, 3.2),
        models="per_model")
def draw_cka_between_models(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """Heat map of CKA between every layer of two fine-tuned models (final epoch)."""
    model_a, model_b = panel.model_list
    rows = rows_at_drawn_epoch(panel, tables["cka_between_models"])
    rows = rows[(rows["model_a"] == model_a) & (rows["model_b"] == model_b)
                & (rows["token"] == panel.token)]
    draw_heatmap(fig, rows, model_a, model_b)


@drawer("cka_within_model", Needs("cka_within_model"), size=(4.8, 3.2),
        models="per_model")
def draw_cka_within_model(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """Heat map of CKA between every pair of layers of one model, untrained (epoch 0) or
    fine-tuned (final epoch)."""
    (model,) = panel.model_list
    rows = rows_at_drawn_epoch(panel, tables["cka_within_model"])
    rows = rows[(rows["model"] == model) & (rows["token"] == panel.token)]
    draw_heatmap(fig, rows, model, model)
