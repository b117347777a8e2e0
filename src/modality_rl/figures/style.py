"""The paper's look: seaborn "ticks" style, its three model colours and labels, and the
pieces several drawers share (the paper's model order, seaborn-like box plots, bars over
parameter sets, legends of lines without markers)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from modality_rl.bodies import PAPER_LABELS

MODEL_COLOURS = {"gpt2": (0.372, 0.537, 0.537), "igpt": (0.627, 0.352, 0.470),
                 "random": (0.733, 0.737, 0.870)}
MODEL_LABELS = dict(PAPER_LABELS)  # other models join it (register_models)
TOKEN_MARKERS = {"return_to_go": "^", "state": "o", "action": "x"}  # paper Fig. 2
PAPER_ORDER = ("gpt2", "igpt", "random")  # the order of the paper's per-model panels
PARAMETER_AXIS = "Parameter of Each Layer"
BOX_LINE = "0.25"  # seaborn's dark grey for box edges, whiskers, medians and fliers


def apply_style() -> None:
    matplotlib.rcParams.update({
        "axes.spines.top": True, "axes.spines.right": True, "axes.grid": False,
        "font.size": 10, "axes.labelsize": 11, "legend.fontsize": 9,
        "xtick.direction": "out", "ytick.direction": "out", "lines.linewidth": 2,
        "pdf.fonttype": 42,
    })


# Other models' colours, in the order the configuration lists them (matplotlib's tab10
# without its three closest to the paper's).
OTHER_COLOURS = [(0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173),
                 (0.839, 0.153, 0.157), (0.549, 0.337, 0.294), (0.737, 0.741, 0.133),
                 (0.090, 0.745, 0.812)]


def register_models(labels: dict[str, str]) -> None:
    """Models beyond the paper's three, with their labels (bodies.label): each gets the
    next of OTHER_COLOURS, and is drawn after the paper's, in this order."""
    for i, (model, label) in enumerate(labels.items()):
        MODEL_LABELS[model] = label
        MODEL_COLOURS[model] = OTHER_COLOURS[i % len(OTHER_COLOURS)]


def in_paper_order(models: list[str]) -> list[str]:
    """A panel's models in the order the paper draws them: GPT2, iGPT, Random Init, then
    the others in the order they were registered."""
    order = [*PAPER_ORDER, *(m for m in MODEL_LABELS if m not in PAPER_ORDER)]
    return sorted(models, key=order.index)


def boxes(ax: Axes, samples: list[np.ndarray], positions: list[float], colour, width: float
          ) -> None:
    """Box plots as seaborn draws them: whiskers at 1.5 IQR, grey lines, diamond fliers."""
    line = {"color": BOX_LINE, "linewidth": 1.5}
    ax.boxplot(samples, positions=positions, widths=width, whis=1.5, patch_artist=True,
               manage_ticks=False, boxprops={"facecolor": colour, "edgecolor": BOX_LINE,
                                             "linewidth": 1.5},
               whiskerprops=line, capprops=line, medianprops=line,
               flierprops={"marker": "d", "markerfacecolor": BOX_LINE,
                           "markeredgecolor": BOX_LINE, "markersize": 4})


def parameter_bars(ax: Axes, rows: pd.DataFrame, column: str, model: str) -> None:
    """One bar of `column` per parameter set, at its parameter_index, with the model's
    legend entry in the upper right."""
    ax.bar(rows["parameter_index"], rows[column], width=0.8, color=MODEL_COLOURS[model],
           label=MODEL_LABELS[model])
    ax.legend(loc="upper right")


def line_legend(ax: Axes, loc: str) -> None:
    """A legend of the models' lines without their markers, as the paper's."""
    for line in ax.legend(loc=loc).get_lines():
        line.set_marker("")
