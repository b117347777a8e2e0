"""The paper's figures panel by panel (resources/figures.tsv, a copy of the paper's list).

Each panel names its kind (which drawer draws it), env(s), seed, token, models and
epochs as the paper used them. Epochs are the paper's (40 = the last epoch): a preset
with shorter runs draws the nearest epoch its runs have (`panel_epoch`). The catalogue
is a declared input of the jobs that read it, so its path is always passed in.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

DIAGRAM = "diagram"
PAPER_FINAL_EPOCH = 40


@dataclass(frozen=True, kw_only=True)
class Panel:
    figure: int
    panel: str
    kind: str
    env: str  # one env, or a comma list (mi_data)
    seed: int | None
    token: str
    models: str  # as the paper lists them, e.g. "random,gpt2,igpt"
    epochs: str  # e.g. "0->40", "40", "1..40"
    detail: str
    caption: str

    @property
    def envs(self) -> list[str]:
        return self.env.split(",") if self.env else []

    @property
    def model_list(self) -> list[str]:
        return self.models.split(",") if self.models else []


def load_catalogue(path: str | os.PathLike) -> list[Panel]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Panel(figure=int(r["figure"]), panel=r["panel"], kind=r["kind"], env=r["env"],
                  seed=int(r["seed"]) if r["seed"] else None, token=r["token"],
                  models=r["models"], epochs=r["epochs"], detail=r["detail"],
                  caption=r["caption"]) for r in rows]


def data_figures(catalogue: str | os.PathLike) -> dict[int, list[Panel]]:
    """Figure number -> its panels, for every figure that plots data (not a diagram)."""
    figures: dict[int, list[Panel]] = {}
    for panel in load_catalogue(catalogue):
        if panel.kind != DIAGRAM:
            figures.setdefault(panel.figure, []).append(panel)
    return figures


def panel_epoch(paper_epoch: int, available: list[int]) -> int:
    """The epoch to draw for the paper's `paper_epoch`: the last available one for the
    paper's last epoch, else the latest available epoch not after it."""
    if paper_epoch >= PAPER_FINAL_EPOCH:
        return max(available)
    return max(e for e in available if e <= paper_epoch)


def drawn_epoch(panel: Panel, available) -> int:
    """The available epoch that stands for the panel's paper epoch (40 of "0->40")."""
    return panel_epoch(int(panel.epochs.split("->")[-1]), sorted(set(available)))


def rows_at_drawn_epoch(panel: Panel, table):
    """The rows of a table (with an `epoch` column) at the panel's drawn epoch."""
    return table[table["epoch"] == drawn_epoch(panel, table["epoch"])]
