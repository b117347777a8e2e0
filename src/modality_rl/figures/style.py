"""The paper's look: seaborn "ticks" style, its three model colours and labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODEL_COLOURS = {"gpt2": (0.372, 0.537, 0.537), "igpt": (0.627, 0.352, 0.470),
                 "random": (0.733, 0.737, 0.870)}
MODEL_LABELS = {"random": "Random Init", "gpt2": "GPT2", "igpt": "iGPT"}
TOKEN_MARKERS = {"return_to_go": "^", "state": "o", "action": "x"}  # paper Fig. 2


def apply_style() -> None:
    plt.rcParams.update({
        "axes.spines.top": True, "axes.spines.right": True, "axes.grid": False,
        "font.size": 10, "axes.labelsize": 11, "legend.fontsize": 9,
        "xtick.direction": "out", "ytick.direction": "out", "lines.linewidth": 2,
        "pdf.fonttype": 42,
    })
