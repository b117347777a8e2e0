"""contract: tables. Long ("tidy") tables, one row per measured value, with a column for
every coordinate. Each module builds one analysis' tables from probe dumps or
checkpoints; docs/tables.md documents the columns."""

from __future__ import annotations

import logging
import os

import pandas as pd

from modality_rl.inputs import read_table
from modality_rl.io import atomic_path

log = logging.getLogger(__name__)

# inputs[model][epoch] -> path of that run's probe dump (or checkpoint) at that epoch
Dumps = dict[str, dict[int, str]]


def write_table(table: pd.DataFrame, target: str | os.PathLike) -> None:
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False)
    log.info("wrote %d rows to %s", len(table), target)


def write_tables(tables: dict[str, pd.DataFrame], targets: dict[str, str]) -> None:
    """Write each table to its target; the names must match exactly."""
    if targets.keys() != tables.keys():
        raise ValueError(f"the job's outputs {sorted(targets)} do not match the tables it "
                         f"builds: {sorted(tables)}")
    for name, table in tables.items():
        write_table(table, targets[name])


def concatenate_tables(paths: list[str | os.PathLike], target: str | os.PathLike) -> None:
    """Gather partitions into one table (partitions never overlap: they differ in env/seed)."""
    table = pd.concat([read_table(p) for p in paths], ignore_index=True)
    log.info("gathering %d partitions", len(paths))
    write_table(table, target)
