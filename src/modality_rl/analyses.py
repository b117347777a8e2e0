"""Which probe dumps and checkpoints each analysis reads, and where its tables go.

Like `runs`, this imports no torch: the Snakefile plans probe and metric jobs with it.
An analysis (config key `analysis.<name>`) reads the runs of one experiment at chosen
epochs; `final` names a run's last epoch. Tables are partitioned by (env, dataset, seed),
the coordinates every figure slices on, so a single figure builds only its own slice;
`results/tables/<table>.csv` gathers every partition.
"""

from __future__ import annotations

from dataclasses import dataclass

from modality_rl import paths
from modality_rl.runs import Run, enumerate_runs, experiment_epochs


# The optional sections of a probe dump (probes.dump), in the order they are written.
DUMP_SECTIONS = ("layers", "block_outputs", "attention", "pseudo_attention", "gradients")


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """One analysis job per (env, dataset, seed): what it reads and the tables it writes."""
    tables: tuple[str, ...]  # the job writes one partition of each
    reads: str  # "dump": the runs' probe dumps; "checkpoint": their checkpoint files
    builder: str  # "module:function" building the tables (imported by the job only)
    # The probe dump sections (DUMP_SECTIONS) it reads; a dump carries only the sections
    # its epoch's analyses read (the probe batch, `inputs`, is always written).
    sections: tuple[str, ...] = ()
    gpu: bool = False  # trains (MINE) on a GPU slot when there is one
    # The builder takes `analysis.<name>` (less its planning keys) as its settings; else
    # they are the probe's (gradients) or there are none.
    table_settings: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.sections) - set(DUMP_SECTIONS)
        if unknown or (self.reads == "dump") != bool(self.sections):
            raise ValueError(f"an analysis reading {self.reads}s names dump sections "
                             f"{self.sections}: one that reads dumps names some of "
                             f"{DUMP_SECTIONS}, one that reads checkpoints none")


ANALYSES = {
    "cka": Analysis(
        tables=("cka_pre_post", "cka_between_models", "cka_within_model",
                "cka_layers_above_threshold"),
        reads="dump", builder="modality_rl.tables.cka:cka_tables", sections=("layers",),
        table_settings=True),
    "mutual_information": Analysis(
        tables=("mutual_information_hidden", "mutual_information_no_context"),
        reads="dump", builder="modality_rl.tables.mutual_information:hidden_tables",
        sections=("block_outputs",), gpu=True, table_settings=True),
    "parameter_change": Analysis(
        tables=("parameter_change",), reads="checkpoint",
        builder="modality_rl.tables.parameter_change:parameter_change_tables"),
    "gradients": Analysis(
        tables=("gradient_norms", "gradient_confusion", "gradient_norm_per_parameter",
                "gradient_norm_share"),
        reads="dump", builder="modality_rl.tables.gradients:gradient_tables",
        sections=("gradients",)),
    "attention_distance": Analysis(
        tables=("attention_distance", "attention_distance_gap"), reads="dump",
        builder="modality_rl.tables.attention:attention_tables",
        sections=("attention", "pseudo_attention")),
}
PROBE_ANALYSES = tuple(name for name, a in ANALYSES.items() if a.reads == "dump")
ANALYSIS_OF = {table: name for name, a in ANALYSES.items() for table in a.tables}
# Keys of `analysis.<name>` that say which runs and epochs it reads, not how it computes.
PLANNING_KEYS = ("experiment", "epoch", "epochs")
# Tables partitioned by env only (they read data, not models) or by experiment too.
DATA_TABLES = ("mutual_information_data",)
LEARNING_CURVES = "learning_curves"


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
    for analysis in PROBE_ANALYSES:
        if config["analysis"][analysis]["experiment"] == run.experiment:
            for epoch in analysis_epochs(config, analysis, run.env):
                wanted.setdefault(epoch, set()).update(ANALYSES[analysis].sections)
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
    epochs = {epoch for name, analysis in ANALYSES.items()
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
    dataset = config["dataset"]
    if table in DATA_TABLES:
        return [table_partition(table, env, dataset) for env in sorted(config["envs"])]
    runs = enumerate_runs(config)
    if table == LEARNING_CURVES:
        keys = sorted({(r.experiment, r.env, r.seed) for r in runs})
        return [table_partition(table, env, dataset, seed, experiment)
                for experiment, env, seed in keys]
    experiment = config["analysis"][ANALYSIS_OF[table]]["experiment"]
    keys = sorted({(r.env, r.seed) for r in runs if r.experiment == experiment})
    return [table_partition(table, env, dataset, seed) for env, seed in keys]


def all_tables() -> list[str]:
    return [t for a in ANALYSES.values() for t in a.tables] + [*DATA_TABLES, LEARNING_CURVES]
