"""Which tables a panel kind reads, and the function that draws it.

A drawer is `draw(fig: SubFigure, panel: Panel, tables: dict[str, DataFrame])`; it
creates its own axes in `fig`. `tables` maps each table it declared to the rows of the
partitions the panel reads, concatenated. A declared table is a table name, or
(learning_curves) a table name and an experiment.
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


@dataclass(frozen=True, kw_only=True)
class Kind:
    needs: tuple[Needs, ...]
    draw: Drawer
    size: tuple[float, float]  # inches of one panel


KINDS: dict[str, Kind] = {}


def drawer(kind: str, *needs: Needs, size: tuple[float, float] = (4.2, 2.8)
           ) -> Callable[[Drawer], Drawer]:
    """Register `function` as the drawer of panels of `kind`."""
    def register(function: Drawer) -> Drawer:
        KINDS[kind] = Kind(needs=tuple(needs), draw=function, size=size)
        return function
    return register
