"""The analyses: which probe dumps and checkpoints each reads, and where its tables go.

Each analysis is one module of this package, `<name>.py`, defining `ANALYSIS =
Analysis(...)` (analyses.entry): the registry below finds them, in the paper's order of
sections. An analysis is planned when the configuration has its section `analysis.<name>`
(a section set to null, or absent, leaves it out). It reads the runs of one experiment at
chosen epochs; `final` names a run's last epoch. Tables are partitioned by (env, dataset,
seed), the coordinates every figure slices on, so a single figure builds only its own
slice; `results/tables/<table>.csv` gathers every partition.

Like `runs`, this imports no torch: the Snakefile plans probe and metric jobs with it.
"""

from __future__ import annotations

import importlib
import pkgutil

from modality_rl import paths
from modality_rl.analyses.entry import DUMP_SECTIONS, Analysis
from modality_rl.runs import Run, enumerate_runs, experiment_epochs

__all__ = ["ANALYSES", "DUMP_SECTIONS", "Analysis"]


def _registry() -> dict[str, Analysis]:
    """{name: entry} of every module of this package that defines ANALYSIS: the paper's
    analyses in the order of its sections, then the others by name."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        entry = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ANALYSIS", None)
        if isinstance(entry, Analysis):
            found[module.name] = entry

    def order(name: str) -> tuple:
        section = found[name].paper_section
        return (not section, [int(part) for part in section.split(".") if section], name)

    return {name: found[name] for name in sorted(found, key=order)}


ANALYSES = _registry()
# Keys of `analysis.<name>` that say which runs and epochs it reads, not how it computes.
PLANNING_KEYS = ("experiment", "epoch", "epochs")
LEARNING_CURVES = "learning_curves"  # tables of the runs' metrics, one per experiment
# Tables of the data alone (partitioned by env and dataset, no seed).
DATA_TABLES = tuple(t for a in ANALYSES.values() for t in a.data_tables)


def configured(config: dict) -> dict[str, Analysis]:
    """The analyses the configuration plans: those with a section under `analysis`."""
    sections = config.get("analysis") or {}
    return {name: a for name, a in ANALYSES.items() if sections.get(name) is not None}


def analysis_of(table: str) -> str | None:
    """The analysis that writes `table` (None: learning curves)."""
    return next((name for name, a in ANALYSES.items()
                 if table in a.tables or table in a.data_tables), None)


def resolve_epoch(config: dict, experiment: str, env: str, epoch: int | str) -> int:
    """An analysis epoch as a number; the run must get that far."""
    final = experiment_epochs(config["experiments"][experiment], env)
    value = final if epoch == "final" else int(epoch)
    if value > final:
        raise ValueError(
            f"analysis epoch {epoch!r} of experiment {experiment!r} ({env}) is {value}, but "
            f"the run has only {final} epochs; change the analysis epochs or the experiment's")
    return value


def analysis_epochs(config: dict, analysis: str, env: str) -> list[int]:
    settings = config["analysis"][analysis]
    epochs = settings["epochs"] if "epochs" in settings else [settings["epoch"]]
    # dict.fromkeys: `final` may coincide with a listed epoch (e.g. 4 in the quick preset).
    return list(dict.fromkeys(resolve_epoch(config, settings["experiment"], env, e)
                              for e in epochs))


def analysed_runs(config: dict, analysis: str, env: str, dataset: str, seed: int) -> list[Run]:
    """The runs one partition (env, dataset, seed) of an analysis reads, in config order."""
    experiment = config["analysis"][analysis]["experiment"]
    if experiment not in config["experiments"]:
        raise ValueError(f"analysis.{analysis}.experiment is {experiment!r}, which is not a "
                         f"key of experiments ({list(config['experiments'])})")
    return [run for run in enumerate_runs(config) if run.experiment == experiment
            and (run.env, run.dataset, run.seed) == (env, dataset, seed)]


def analysis_settings(config: dict, analysis: str) -> dict:
    """How the analysis computes: `analysis.<name>` without its planning keys."""
    return {key: value for key, value in config["analysis"][analysis].items()
            if key not in PLANNING_KEYS}


def probe_dir(run: Run) -> str:
    """One probe job per run writes all its dumps here: start-up (importing torch and
    transformers, ~7 s) dwarfs probing a small model, so per-epoch jobs would mostly wait."""
    return run.path(paths.PROBES)


def probe_dump_path(run: Run, epoch: int) -> str:
    return paths.dump(probe_dir(run), epoch)


def probe_sections(config: dict, run: Run) -> dict[int, tuple[str, ...]]:
    """{epoch: the dump sections its analyses read} for every epoch of `run` some analysis
    reads a probe dump of (empty: the run is not probed). Sections in DUMP_SECTIONS order."""
    wanted: dict[int, set[str]] = {}
    for name, analysis in configured(config).items():
        if analysis.reads == "dump" and config["analysis"][name]["experiment"] == run.experiment:
            for epoch in analysis_epochs(config, name, run.env):
                wanted.setdefault(epoch, set()).update(analysis.sections)
    return {epoch: tuple(s for s in DUMP_SECTIONS if s in wanted[epoch])
            for epoch in sorted(wanted)}


def probed_epochs(config: dict, run: Run) -> list[int]:
    """The epochs of `run` some analysis reads a probe dump of (empty: the run is not probed)."""
    return list(probe_sections(config, run))


def checkpoint_epochs(config: dict, run: Run) -> list[int]:
    """The epochs whose weights the run keeps: those some analysis reads (a probe or a
    checkpoint), and its last where `experiments.<name>.keep_final_checkpoint` asks for
    it. Epoch 0, the untrained model, is kept as its recipe (it is rebuilt, bit for bit,
    from the run's settings), so never among them. contract: epochs."""
    epochs = {epoch for name in configured(config)
              if config["analysis"][name]["experiment"] == run.experiment
              for epoch in analysis_epochs(config, name, run.env)}
    experiment = config["experiments"][run.experiment]
    if experiment["keep_final_checkpoint"]:
        epochs.add(experiment_epochs(experiment, run.env))
    return sorted(epochs - {0})


def section_writers(section: str) -> list[str]:
    """The analyses whose epochs a dump section is written at (for error messages)."""
    return [name for name, a in ANALYSES.items() if section in a.sections]


def table_partition(table: str, env: str, dataset: str, seed: int | None = None,
                    experiment: str | None = None) -> str:
    """The partition of `table` for (env, dataset, seed); tables of data have no seed,
    learning curves have an experiment."""
    if table == LEARNING_CURVES:
        return paths.fill(paths.CURVES_PARTITION, experiment=experiment, env=env,
                          dataset=dataset, seed=seed)
    if table in DATA_TABLES:
        return paths.fill(paths.DATA_TABLE_PARTITION, table=table, env=env, dataset=dataset)
    return paths.fill(paths.TABLE_PARTITION, table=table, env=env, dataset=dataset, seed=seed)


def partitions(config: dict, table: str) -> list[str]:
    """Every partition of `table` the configuration asks for."""
    # Sorted: the order of the config's envs and experiments is not meaning, and reordering
    # them must not rerun gather_table.
    if table in DATA_TABLES:
        return [table_partition(table, env, dataset) for env in sorted(config["envs"])
                for dataset in sorted(config["datasets"])]
    runs = enumerate_runs(config)
    if table == LEARNING_CURVES:
        keys = sorted({(r.experiment, r.env, r.dataset, r.seed) for r in runs})
        return [table_partition(table, env, dataset, seed, experiment)
                for experiment, env, dataset, seed in keys]
    experiment = config["analysis"][analysis_of(table)]["experiment"]
    keys = sorted({(r.env, r.dataset, r.seed) for r in runs if r.experiment == experiment})
    return [table_partition(table, env, dataset, seed) for env, dataset, seed in keys]


def all_tables(config: dict) -> list[str]:
    """The tables the configuration makes: its analyses', then the learning curves."""
    analyses = configured(config).values()
    return ([t for a in analyses for t in a.tables] + [t for a in analyses for t in a.data_tables]
            + [LEARNING_CURVES])


def registered_tables() -> list[str]:
    """Every table some registered analysis can make, and the learning curves."""
    return ([t for a in ANALYSES.values() for t in (*a.tables, *a.data_tables)]
            + [LEARNING_CURVES])
