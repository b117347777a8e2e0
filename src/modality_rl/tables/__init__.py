"""contract: tables. Long ("tidy") tables, one row per measured value, with a column for
every coordinate. Each module builds one analysis' tables from probe dumps or
checkpoints; docs/tables.md documents the columns."""

from __future__ import annotations

import logging
import os

import pandas as pd

from modality_rl.io import atomic_path

# inputs[model][epoch] -> path of that run's probe dump (or checkpoint) at that epoch
Dumps = dict[str, dict[int, str]]


def write_table(table: pd.DataFrame, target: str | os.PathLike) -> None:
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False)


def concatenate_tables(paths: list[str | os.PathLike], target: str | os.PathLike) -> None:
    """Gather partitions into one table (partitions never overlap: they differ in env/seed)."""
    table = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    write_table(table, target)
    logging.getLogger(__name__).info("gathered %d partitions, %d rows, into %s", len(paths),
                                     len(table), target)
