"""Learning curves from the learning_curves table (Fig. 8, 9, 19, 20, 68-73).

Epochs 1..N are the trained epochs (epoch 0, the untrained model, has no action error);
the return is the evaluation return at the target the released plotting code used.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pandas as pd
from matplotlib.figure import SubFigure
from matplotlib.ticker import MaxNLocator

from modality_rl.figures.catalogue import Panel
from modality_rl.figures.options import SMOOTHING_STARTS, FigureOptions
from modality_rl.figures.registry import Needs, drawer
from modality_rl.figures.style import MODEL_COLOURS, MODEL_LABELS
from modality_rl.scores import CURVE_TARGET

EMA_SMOOTHING = 0.8  # Appendix I.1.1: block-swap curves
METRIC_LABELS = {"return_mean": "Mean Return", "action_error": "Action Error"}


def curve(table: pd.DataFrame, model: str, metric: str) -> pd.Series:
    """value by epoch (1..N) of one model's `metric` (returns at the env's curve target)."""
    rows = table[(table["model"] == model) & (table["metric"] == metric) & (table["epoch"] > 0)]
    if metric == "return_mean":
        rows = rows[rows["target_return"] == CURVE_TARGET[rows["env"].iloc[0]]]
    return rows.set_index("epoch")["value"].sort_index()


def ema(values: pd.Series, smoothing: float = EMA_SMOOTHING,
        start: str = "released") -> pd.Series:
    """y_t = (1 - a) x_t + a y_{t-1}, a = smoothing, from one of two starts.

    `released` is the released plotting code's `scipy.signal.lfilter([1 - a], [1, -a], x,
    zi=[x_0])`: the filter's state starts at x_0, so y_0 = (1 - a) x_0 + x_0, 1.2 x_0 for
    a = 0.8, and the curve starts off the data. `first_value` starts the state at a x_0,
    so y_0 = x_0.
    """
    if start not in SMOOTHING_STARTS:
        raise ValueError(f"unknown smoothing start {start!r}; use one of {SMOOTHING_STARTS}")
    state = values.iloc[0] * (1.0 if start == "released" else smoothing)  # lfilter's zi
    smoothed = []
    for value in values:  # lfilter's transposed direct form: y = b0 x + z; z = a y
        smoothed.append((1 - smoothing) * value + state)
        state = smoothing * smoothed[-1]
    return pd.Series(smoothed, index=values.index)


@drawer("return_curve_no_context", Needs("learning_curves", "no_context"),
        Needs("learning_curves", "main"))
def draw_return_curve_no_context(fig: SubFigure, panel: Panel, tables: dict) -> None:
    """Mean return per epoch of K=1 runs (solid, dots) against K=20 runs (dashed, faint)."""
    ax = fig.subplots()
    for model in reversed(panel.model_list):  # the paper lists GPT2 first
        colour, label = MODEL_COLOURS[model], MODEL_LABELS[model]
        k20 = curve(tables["learning_curves/main"], model, "return_mean")
        k1 = curve(tables["learning_curves/no_context"], model, "return_mean")
        ax.plot(k20.index, k20.values, color=colour, linestyle="dashed", alpha=0.5,
                label=f"{label}: K=20")
        ax.plot(k1.index, k1.values, color=colour, marker="o", markersize=3,
                label=f"{label}: K=1")
    ax.set(xlabel="Epoch", ylabel="Mean Return")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower right")


def draw_block_swap(fig: SubFigure, panel: Panel, tables: dict, metric: str,
                    start: str) -> None:
    """EMA-smoothed curves of each single-block swap, with gpt2 and random (K=1) dashed;
    `start` is figures.block_swap_smoothing."""
    ax = fig.subplots()
    swaps = tables["learning_curves/block_swap"]
    blocks = sorted(int(m.removeprefix("gpt2_block")) for m in swaps["model"].unique())
    for colour, block in zip(hls_palette(len(blocks)), blocks):
        values = ema(curve(swaps, f"gpt2_block{block}", metric), start=start)
        ax.plot(values.index, values.values, color=colour, label=f"block {block}")
    epochs = range(1, swaps["epoch"].max() + 1)  # the K=1 references over the same epochs
    for model, label in (("gpt2", "GPT2"), ("random", "Rand Init")):
        values = ema(curve(tables["learning_curves/no_context"], model, metric).loc[epochs],
                     start=start)
        ax.plot(values.index, values.values, color=MODEL_COLOURS[model], linestyle="dashed",
                label=label)
    ax.set(xlabel="Epoch", ylabel=METRIC_LABELS[metric])
    ax.set_xticks(list(epochs))
    ax.legend(bbox_to_anchor=(1.05, 1), loc="upper left", borderaxespad=0)


def hls_palette(count: int) -> list[tuple[float, float, float]]:
    """seaborn's "hls" palette, which the paper's block-swap figures use."""
    hues = np.linspace(0, 1, count, endpoint=False) + 0.01
    return [colorsys.hls_to_rgb(h % 1, 0.6, 0.65) for h in hues]


@drawer("block_swap_action_error", Needs("learning_curves", "block_swap"),
        Needs("learning_curves", "no_context"), options=True, models="fixed")
def draw_block_swap_action_error(fig: SubFigure, panel: Panel, tables: dict,
                                 options: FigureOptions) -> None:
    draw_block_swap(fig, panel, tables, "action_error", options.block_swap_smoothing)


@drawer("block_swap_return", Needs("learning_curves", "block_swap"),
        Needs("learning_curves", "no_context"), options=True, models="fixed")
def draw_block_swap_return(fig: SubFigure, panel: Panel, tables: dict,
                           options: FigureOptions) -> None:
    draw_block_swap(fig, panel, tables, "return_mean", options.block_swap_smoothing)


def draw_grad_clip(fig: SubFigure, tables: dict, metric: str) -> None:
    """iGPT with clipping (main runs, over the no-clip run's epochs) against without."""
    ax = fig.subplots()
    without = curve(tables["learning_curves/no_grad_clip"], "igpt", metric)
    with_clip = curve(tables["learning_curves/main"], "igpt", metric)
    with_clip = with_clip[with_clip.index <= without.index.max()]
    for values, colour, label in ((with_clip, MODEL_COLOURS["gpt2"], "w/ Grad Clip"),
                                  (without, MODEL_COLOURS["igpt"], "w/o Grad Clip")):
        ax.plot(values.index, values.values, color=colour, marker="o", markersize=3,
                label=label)
    ax.set(xlabel="Epoch", ylabel=METRIC_LABELS[metric])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper right")


@drawer("grad_clip_action_error", Needs("learning_curves", "no_grad_clip"),
        Needs("learning_curves", "main"), models="fixed")
def draw_grad_clip_action_error(fig: SubFigure, panel: Panel, tables: dict) -> None:
    draw_grad_clip(fig, tables, "action_error")


@drawer("grad_clip_return", Needs("learning_curves", "no_grad_clip"),
        Needs("learning_curves", "main"), models="fixed")
def draw_grad_clip_return(fig: SubFigure, panel: Panel, tables: dict) -> None:
    draw_grad_clip(fig, tables, "return_mean")
