"""contract: tables. Long ("tidy") tables, one row per measured value, with a column for
every coordinate. Each module builds one analysis' tables from probe dumps or
checkpoints; docs/tables.md documents the columns."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import typing
from collections.abc import Callable, Sequence

import pandas as pd

from modality_rl.analyses import ANALYSES
from modality_rl.inputs import read_table
from modality_rl.io import atomic_path
from modality_rl.spec import SpecError, from_data

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


def analysis_builder(analysis: str) -> Callable[..., dict[str, pd.DataFrame]]:
    """The function that builds the analysis' tables (analyses.ANALYSES), imported on use
    so that a job loads only its own dependencies (CKA, attention and gradient jobs load no
    torch). It is `build(inputs, coordinates, epochs[, settings][, device])`."""
    module, name = ANALYSES[analysis].builder.split(":")
    return getattr(importlib.import_module(module), name)


def builder_settings(analysis: str, settings: dict):
    """`settings` (config key `analysis.<name>` without its planning keys) as the dataclass
    the builder's `settings` parameter names; None for a builder that takes none."""
    builder = analysis_builder(analysis)
    if "settings" in inspect.signature(builder).parameters:
        return from_data(typing.get_type_hints(builder)["settings"], settings,
                         f"analysis.{analysis}")
    if settings:
        raise SpecError(f"analysis.{analysis} takes no settings, got {sorted(settings)}")
    return None


def build_tables(analysis: str, inputs: Dumps, coordinates: dict, epochs: Sequence[int],
                 settings: dict, device="cpu") -> dict[str, pd.DataFrame]:
    """The analysis' tables; `device` is passed to the builders that train on one."""
    builder = analysis_builder(analysis)
    typed = builder_settings(analysis, settings)
    extra = {} if typed is None else {"settings": typed}
    if "device" in inspect.signature(builder).parameters:
        extra["device"] = device
    return builder(inputs, coordinates, list(epochs), **extra)
