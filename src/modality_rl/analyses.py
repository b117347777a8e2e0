"""Which probe dumps and checkpoints each analysis reads, and where its tables go.

Like `runs`, this imports no torch: the Snakefile plans probe and metric jobs with it.
An analysis (config key `analysis.<name>`) reads the runs of one experiment at chosen
epochs; `final` names a run's last epoch. Tables are partitioned by (env, dataset, seed),
the coordinates every figure slices on, so a single figure builds only its own slice;
`results/tables/<table>.csv` gathers every partition.
"""

from __future__ import annotations

from modality_rl.runs import Run, enumerate_runs, experiment_epochs

PROBES_DIR = "results/probes"
TABLES_DIR = "results/tables"

# Table names per analysis job; the job writes one partition of each.
TABLES = {
    "cka": ("cka_pre_post", "cka_between_models", "cka_within_model", "cka_layers_above_threshold"),
    "mutual_information": ("mutual_information_hidden", "mutual_information_no_context"),
    "parameter_change": ("parameter_change",),
    "gradients": ("gradient_norms", "gradient_confusion", "gradient_norm_per_parameter",
                  "gradient_norm_share"),
    "attention_distance": ("attention_distance", "attention_distance_gap"),
}
# Analyses that read probe dumps (parameter_change reads checkpoints).
PROBE_ANALYSES = ("cka", "mutual_information", "gradients", "attention_distance")
ANALYSIS_OF = {table: analysis for analysis, tables in TABLES.items() for table in tables}
# Tables partitioned by env only (they read data, not models) or by experiment too.
DATA_TABLES = ("mutual_information_data",)
LEARNING_CURVES = "learning_curves"


def resolve_epoch(config: dict, experiment: str, env: str, epoch: int | str) -> int:
    """An analysis epoch as a number; it must be one the run keeps a checkpoint of."""
    final = experiment_epochs(config["experiments"][experiment], env)
    value = final if epoch == "final" else int(epoch)
    if value > final or value not in config["checkpoint_epochs"]:
        raise ValueError(
            f"analysis epoch {epoch!r} of experiment {experiment!r} ({env}) is {value}, which is "
            f"not a kept checkpoint: checkpoint_epochs is {config['checkpoint_epochs']} and the "
            f"run has {final} epochs. Add it to checkpoint_epochs or change the analysis epochs.")
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


def probe_dir(run: Run) -> str:
    """One probe job per run writes all its dumps here: start-up (importing torch and
    transformers, ~7 s) dwarfs probing a small model, so per-epoch jobs would mostly wait."""
    return f"{PROBES_DIR}/{run.experiment}/{run.model}/{run.env}-{run.dataset}/seed{run.seed}"


def probe_dump_path(run: Run, epoch: int) -> str:
    return f"{probe_dir(run)}/epoch{epoch}.hdf5"


def probed_epochs(config: dict, run: Run) -> list[int]:
    """The epochs of `run` some analysis reads a probe dump of (empty: the run is not probed)."""
    return sorted({epoch for analysis in PROBE_ANALYSES
                   if config["analysis"][analysis]["experiment"] == run.experiment
                   for epoch in analysis_epochs(config, analysis, run.env)})


def gradient_epoch(config: dict, run: Run) -> int | None:
    """The epoch whose dump carries the per-sample gradient probe (None: no dump does)."""
    settings = config["analysis"]["gradients"]
    if run.experiment != settings["experiment"]:
        return None
    return resolve_epoch(config, run.experiment, run.env, settings["epoch"])


def table_partition(table: str, env: str, dataset: str, seed: int | None = None,
                    experiment: str | None = None) -> str:
    parts = [TABLES_DIR, table] + ([experiment] if experiment else [])
    name = f"{env}-{dataset}" + (f"_seed{seed}" if seed is not None else "")
    return "/".join(parts) + f"/{name}.csv"


def partitions(config: dict, table: str) -> list[str]:
    """Every partition of `table` the configuration asks for."""
    dataset = config["dataset"]
    if table in DATA_TABLES:
        return [table_partition(table, env, dataset) for env in config["envs"]]
    runs = enumerate_runs(config)
    if table == LEARNING_CURVES:
        keys = dict.fromkeys((r.experiment, r.env, r.seed) for r in runs)
        return [table_partition(table, env, dataset, seed, experiment)
                for experiment, env, seed in keys]
    experiment = config["analysis"][ANALYSIS_OF[table]]["experiment"]
    keys = dict.fromkeys((r.env, r.seed) for r in runs if r.experiment == experiment)
    return [table_partition(table, env, dataset, seed) for env, seed in keys]


def all_tables() -> list[str]:
    return [t for tables in TABLES.values() for t in tables] + [*DATA_TABLES, LEARNING_CURVES]
