"""Which tables a panel kind reads, and the function that draws it.

A drawer is `draw(fig: SubFigure, panel: Panel, tables: dict[str, DataFrame])`; it
creates its own axes in `fig`. `tables` maps each table it declared to the rows of the
partitions the panel reads, concatenated. A declared table is a table name, or
(learning_curves) a table name and an experiment. A drawer registered with
`options=True` also gets `options=FigureOptions` (the config's `figures` section).

`models` says how a kind's panels take models beyond the paper's three (figures.draw):
"shared" panels compare models on shared axes, and every configured model with rows in
their tables is drawn in them; "per_model" panels show one model (or a pair), and each
other model gets the same panels in a figure file of its own; "fixed" panels are the
paper's alone (block swap's curves, the data's mutual information).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import SubFigure

from modality_rl.figures.catalogue import Panel

Drawer = Callable[[SubFigure, Panel, dict[str, pd.DataFrame]], None]


@dataclass(frozen=True)
class Needs:
    table: str
    experiment: str | None = None  # learning_curves only

    @property
    def key(self) -> str:
        """The name the drawer finds the rows under: `learning_curves/main`, or the table."""
        return f"{self.table}/{self.experiment}" if self.experiment else self.table


MODEL_ROLES = ("shared", "per_model", "fixed")


@dataclass(frozen=True, kw_only=True)
class Kind:
    needs: tuple[Needs, ...]
    draw: Drawer
    size: tuple[float, float]  # inches of one panel
    takes_options: bool = False  # draw(..., options=FigureOptions)
    models: str = "shared"  # MODEL_ROLES: how its panels take other models


KINDS: dict[str, Kind] = {}


def drawer(kind: str, *needs: Needs, size: tuple[float, float] = (4.2, 2.8),
           options: bool = False, models: str = "shared") -> Callable[[Drawer], Drawer]:
    """Register `function` as the drawer of panels of `kind`."""
    if models not in MODEL_ROLES:
        raise ValueError(f"drawer {kind!r}: models={models!r} is not one of {MODEL_ROLES}")

    def register(function: Drawer) -> Drawer:
        KINDS[kind] = Kind(needs=tuple(needs), draw=function, size=size, takes_options=options,
                           models=models)
        return function
    return register
