"""Lay a figure's panels out in a row, as the paper does, and write PDF and PNG.

Models beyond the paper's three (a configured body of another family, say) are drawn as
their kind says (figures.registry): in a "shared" panel beside the paper's, where its
tables have rows of them; for a "per_model" panel, in a figure of their own
(`model_panels`, results/figures/models/figNN_<model>.pdf), so the paper's figure files
keep exactly the paper's panels."""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import replace

import pandas as pd
from matplotlib.figure import Figure

from modality_rl.analyses import all_tables, analysis_of, partitions, table_partition

# The drawer modules register their kinds on import.
from modality_rl.figures import attention, cka, curves, gradients, mutual_information, parameters  # noqa: F401
from modality_rl.figures.catalogue import Panel, data_figures
from modality_rl.figures.options import RELEASED, FigureOptions
from modality_rl.figures.registry import KINDS
from modality_rl.figures.style import apply_style, register_models
from modality_rl.inputs import read_table
from modality_rl.io import atomic_path
from modality_rl.runs import enumerate_runs

def kind_of(panel: Panel):
    if panel.kind not in KINDS:
        raise KeyError(f"figure {panel.figure}{panel.panel}: no drawer for kind {panel.kind!r}")
    return KINDS[panel.kind]


def panel_inputs(panel: Panel, dataset: str) -> dict[str, list[str]]:
    """Needs key -> the table partitions the panel reads."""
    inputs = {}
    for needs in kind_of(panel).needs:
        inputs[needs.key] = [table_partition(needs.table, env, dataset, panel.seed,
                                             needs.experiment) for env in panel.envs]
    return inputs


def panel_problem(panel: Panel, config: dict, dataset: str) -> str | None:
    """Why the configuration cannot draw `panel` of `dataset` (a configuration with fewer
    envs, seeds or models than the paper's draws the panels it can); None when it can."""
    absent = [env for env in panel.envs if env not in config["envs"]]
    if absent:
        return f"env {absent[0]!r} is not in envs (config key envs)"
    left_out = [analysis_of(needs.table) for needs in kind_of(panel).needs
                if needs.table not in all_tables(config)]
    if left_out:
        return (f"analysis {left_out[0]} is not configured (config key "
                f"analysis.{left_out[0]})")
    made = {path for table in all_tables(config) for path in partitions(config, table)}
    missing = [path for paths in panel_inputs(panel, dataset).values()
               for path in paths if path not in made]
    if missing and panel.seed is not None and panel.seed not in config["seeds"]:
        return f"seed {panel.seed} is not in seeds (config key seeds)"
    if missing:
        return f"no configured run makes {missing[0]} (config key experiments)"
    models = {run.model for run in enumerate_runs(config)}
    absent = [m for m in panel.model_list if m in config["backbones"] and m not in models]
    if absent:
        return f"model {absent[0]!r} is not in models (config key models)"
    return None


def with_other_models(panel: Panel, tables: dict[str, pd.DataFrame],
                      others: list[str]) -> Panel:
    """A shared panel with the other models that have rows in its tables added."""
    if kind_of(panel).models != "shared":
        return panel
    present = {m for table in tables.values() if "model" in table for m in table["model"]}
    added = [m for m in others if m in present and m not in panel.model_list]
    return replace(panel, models=",".join([*panel.model_list, *added])) if added else panel


def model_panels(panels: list[Panel], model: str, models: list[str]) -> list[Panel]:
    """`model`'s own figure of a figure's per-model panels: each distinct panel once with
    `model` alone, or (a pair's panel) with `model` and each other of `models` (the
    experiment's, in configuration order, which is the order the tables pair them in)."""
    distinct = {}
    for panel in panels:
        if kind_of(panel).models == "per_model":
            pair = len(panel.model_list) == 2
            key = (panel.kind, panel.env, panel.seed, panel.token, panel.epochs, pair)
            distinct.setdefault(key, panel)
    pairs = [sorted((model, other), key=models.index) for other in models if other != model]
    made = []
    for (*_, pair), panel in distinct.items():
        for shown in (pairs if pair else [[model]]):
            made.append(replace(panel, panel=chr(ord("a") + len(made)),
                                models=",".join(shown)))
    return made


def read_panel_tables(panel: Panel, dataset: str) -> dict[str, pd.DataFrame]:
    return {key: pd.concat([read_table(p) for p in paths], ignore_index=True)
            for key, paths in panel_inputs(panel, dataset).items()}


def draw_figure(panels: list[Panel], tables: list[dict[str, pd.DataFrame]],
                options: FigureOptions = RELEASED) -> Figure:
    """One row of panels, each drawn by its kind's drawer into its own sub-figure and
    labelled (a), (b), ... underneath, as in the paper."""
    apply_style()
    width, height = kind_of(panels[0]).size
    # A Figure of its own, not pyplot's: no GUI backend or figure manager to import.
    fig = Figure(figsize=(width * len(panels), height + 0.3), layout="constrained")
    subfigures = fig.subfigures(1, len(panels), squeeze=False)[0]
    for subfigure, panel, panel_tables in zip(subfigures, panels, tables):
        kind = kind_of(panel)
        kind.draw(subfigure, panel, panel_tables,
                  **({"options": options} if kind.takes_options else {}))
        subfigure.supxlabel(f"({panel.panel})", fontsize=10)
    return fig


def save_figure(fig: Figure, pdf: str | os.PathLike, png: str | os.PathLike) -> None:
    # No creation date in the PDF: the same tables give the same bytes (PNGs carry none).
    for target, metadata in ((pdf, {"CreationDate": None}), (png, None)):
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=os.path.splitext(target)[1][1:], dpi=150,
                        metadata=metadata)
        # The PNG keeps the layout the PDF was drawn with instead of solving it again
        # (a tenth of a figure job); it differs only by sub-pixel text placement.
        fig.set_layout_engine("none")


def figure_inputs(panels: list[Panel], dataset: str) -> list[str]:
    """Every table partition a figure's panels read (the rule's inputs)."""
    return list(dict.fromkeys(path for panel in panels
                              for paths in panel_inputs(panel, dataset).values()
                              for path in paths))


def load_drawers(modules: tuple[str, ...]) -> None:
    """Register the kinds of drawer modules named in the analysis registry (the paper's
    drawers are imported above)."""
    for module in modules:
        importlib.import_module(module)


def draw_panels(panels: list[Panel], drawers: tuple[str, ...], dataset: str,
                pdf: str | os.PathLike, png: str | os.PathLike, options: FigureOptions,
                models: dict[str, str] | None = None) -> None:
    """Draw a figure of the given panels, whose kinds `drawers` (modules) register;
    `models` labels the models beyond the paper's three."""
    register_models(models or {})
    load_drawers(drawers)
    fig = draw_figure(panels, [read_panel_tables(panel, dataset) for panel in panels], options)
    save_figure(fig, pdf, png)
    logging.getLogger(__name__).info("%d panels (%s) to %s and %s", len(panels),
                                     panels[0].kind, pdf, png)


def draw_catalogued_figure(catalogue: str | os.PathLike, figure: int, dataset: str,
                           pdf: str | os.PathLike, png: str | os.PathLike,
                           options: FigureOptions, panels: tuple[str, ...],
                           models: dict[str, str] | None = None) -> None:
    """Draw `panels` (letters) of the figure; a configuration with fewer envs or seeds
    than the paper's draws only the panels it can make. `models`: the labels of the
    models beyond the paper's three, which its shared panels draw too."""
    register_models(models or {})
    panels = [panel for panel in data_figures(catalogue)[figure] if panel.panel in panels]
    tables = [read_panel_tables(panel, dataset) for panel in panels]
    panels = [with_other_models(panel, t, list(models or {})) for panel, t in zip(panels, tables)]
    fig = draw_figure(panels, tables, options)
    save_figure(fig, pdf, png)
    logging.getLogger(__name__).info("figure %d: %d panels (%s) to %s and %s", figure,
                                     len(panels), panels[0].kind, pdf, png)
