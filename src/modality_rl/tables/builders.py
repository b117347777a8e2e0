"""An analysis job's tables: the builder its registry entry names, imported on use, with
its settings checked against the builder's settings dataclass."""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Sequence

import pandas as pd

from modality_rl.analyses import ANALYSES
from modality_rl.spec import SpecError, from_data
from modality_rl.tables import Dumps


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
