"""One analysis, as its registry entry: the module `modality_rl/analyses/<name>.py`
defines `ANALYSIS = Analysis(...)`, and the registry (modality_rl.analyses) finds it.

An entry says what the analysis reads (probe dump sections or checkpoints), the tables
it writes, the function that builds them, its config section's schema, and how much
memory one of its jobs takes. It imports nothing heavy: the Snakefile plans with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The optional sections of a probe dump (probes.dump), in the order they are written.
DUMP_SECTIONS = ("layers", "block_outputs", "attention", "pseudo_attention", "gradients")


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """One analysis job per (env, dataset, seed): what it reads and the tables it writes."""

    tables: tuple[str, ...]  # the job writes one partition of each
    reads: str  # "dump": the runs' probe dumps; "checkpoint": their checkpoint files
    builder: str  # "module:function" building the tables (imported by the job only)
    # The schema of its config section `analysis.<name>` (YAML, one key per line, `$ref`s
    # into the config schema's $defs), `experiment` aside: every key listed is required.
    # It names `epoch` (one epoch) or `epochs` (a list), the epochs it reads.
    config: str
    # Floats one partition's job allocates beyond a bare process, from a budgets.Partition
    # (not imported here: budgets imports this package).
    memory: Callable[[Any], float]
    # The probe dump sections (DUMP_SECTIONS) it reads; a dump carries only the sections
    # its epoch's analyses read (the probe batch, `inputs`, is always written).
    sections: tuple[str, ...] = ()
    gpu: bool = False  # trains (MINE) on a GPU slot when there is one
    torch: bool = False  # its job imports torch (memory: the larger bare process)
    # The builder takes `analysis.<name>` (less its planning keys) as its settings; else
    # they are the probe's (gradients) or there are none.
    table_settings: bool = False
    # Tables of the data alone, one partition per (env, dataset), made by their own rule.
    data_tables: tuple[str, ...] = ()
    # Figures beyond the paper's catalogue: "module:kind" drawers (figures.registry), each
    # drawn to results/figures/analyses/<kind>.{pdf,png}, a panel per configured env.
    figures: tuple[str, ...] = ()
    paper_section: str = ""  # where the paper reports it (the registry's order)

    def __post_init__(self) -> None:
        unknown = set(self.sections) - set(DUMP_SECTIONS)
        if unknown or (self.reads == "dump") != bool(self.sections):
            raise ValueError(f"an analysis reading {self.reads}s names dump sections "
                             f"{self.sections}: one that reads dumps names some of "
                             f"{DUMP_SECTIONS}, one that reads checkpoints none")
