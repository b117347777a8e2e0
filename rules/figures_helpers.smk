# The figures stage's paths, inputs, targets, job specs and memory (rules/figures.smk).

from functools import cache

from snakemake.logging import logger

from modality_rl import bodies
from modality_rl.analyses import LEARNING_CURVES, analysis_of, configured, table_partition
from modality_rl.figures.catalogue import PAPER_FINAL_EPOCH, Panel, data_figures
from modality_rl.figures.draw import (
    figure_inputs,
    kind_of,
    load_drawers,
    model_panels,
    panel_problem,
)
from modality_rl.tables.paper import PAPER_TABLES

# Read by the figure and paper-table jobs, and declared as their inputs.
CATALOGUE = "resources/figures.tsv"
PUBLISHED = "resources/paper_tables.tsv"
# Table 3 is the configuration itself, so its job reads no table.
CONFIGURATION_TABLE = paths.fill(paths.PAPER_TABLE, number=3, ext="md")
FIGURES = data_figures(CATALOGUE)
# {kind: (analysis, drawer module)} of the configured analyses' own figures.
ANALYSIS_FIGURES = {
    drawer.split(":")[1]: (name, drawer.split(":")[0])
    for name, analysis in configured(config).items()
    for drawer in analysis.figures
}
load_drawers(tuple(module for _, module in ANALYSIS_FIGURES.values()))
# {model: label} of the trained models beyond the paper's three, in configuration order.
OTHER_MODELS = {
    run.model: bodies.label(config, run.model)
    for run in RUNS
    if run.model not in bodies.PAPER_LABELS and bodies.swapped_block(run.model) is None
}


wildcard_constraints:
    figure=r"\d\d",
    number="|".join(str(n) for n in PAPER_TABLES),
    kind="|".join(ANALYSIS_FIGURES) or "(?!)",


@cache
def panel_problems(number, dataset=PAPER_DATASET):
    """{letter: why the configuration cannot draw that panel of the figure for `dataset`,
    or None}, worked out once per invocation (every figure job and target reads it)."""
    return {panel.panel: panel_problem(panel, config, dataset) for panel in FIGURES[number]}


def paper_table_seeds(table):
    return [seed for seed in (table.seeds or config["seeds"]) if seed in config["seeds"]]


def paper_table_problem(table):
    """Why the configuration cannot make one of Tables 1, 2, 4 (None: it can)."""
    if not paper_table_seeds(table):
        return f"its seeds {list(table.seeds)} are not in seeds (config key seeds)"
    models = {run.model for run in RUNS if run.experiment == table.experiment}
    absent = [model for model in table.models if model not in models]
    if absent:
        return f"model {absent[0]!r} has no {table.experiment} run (config key models)"
    return None


def left_out():
    """What the configuration cannot make, and why."""
    for number in FIGURES:
        problems = {letter: why for letter, why in panel_problems(number).items() if why}
        if len(problems) == len(FIGURES[number]):
            yield f"figure {number}: {next(iter(problems.values()))}"
        elif problems:
            yield f"figure {number} without panel(s) {', '.join(problems)}: " + "; ".join(
                sorted(set(problems.values()))
            )
    for number, table in PAPER_TABLES.items():
        if paper_table_problem(table):
            yield f"Table {number}: {paper_table_problem(table)}"


# Said once, by the process that plans the run (not again by each cluster job's).
if workflow.is_main_process:
    for line in left_out():
        logger.info(f"left out, as the configuration cannot make it: {line}")


def panel_experiment(panel):
    """The experiment whose runs a panel's (first) table comes from."""
    needs = kind_of(panel).needs[0]
    return needs.experiment or config["analysis"][analysis_of(needs.table)]["experiment"]


def experiment_models(experiment):
    return list(dict.fromkeys(run.model for run in RUNS if run.experiment == experiment))


@cache
def other_model_panels(number, model, dataset=PAPER_DATASET):
    """The panels of `model`'s own file of figure `number` (its per-model panels), those
    the configuration can draw."""
    drawable = [p for p in FIGURES[number] if panel_problems(number, dataset)[p.panel] is None]
    models = experiment_models(panel_experiment(drawable[0])) if drawable else []
    if model not in models:
        return []
    made = model_panels(drawable, model, models)
    return [panel for panel in made if panel_problem(panel, config, dataset) is None]


def dataset_figure_targets(dataset):
    """{kind of target: its files} of one dataset."""
    drawn_figures = [n for n in FIGURES if None in panel_problems(n, dataset).values()]
    drawn_tables = [n for n, table in PAPER_TABLES.items() if paper_table_problem(table) is None]
    both = ("pdf", "png")
    return {
        "figures": [
            dataset_target(paths.FIGURE, dataset, figure=f"{n:02d}", ext=ext)
            for n in drawn_figures
            for ext in both
        ],
        "tables": [
            dataset_target(paths.PAPER_TABLE, dataset, number=n, ext=ext)
            for n in drawn_tables
            for ext in ("csv", "md")
        ],
        "metrics": [
            dataset_target(paths.PAPER_TABLE_METRICS, dataset, number=n) for n in drawn_tables
        ],
        "analyses": [
            dataset_target(paths.ANALYSIS_FIGURE, dataset, kind=kind, ext=ext)
            for kind in ANALYSIS_FIGURES
            for ext in both
        ],
        "models": [
            dataset_target(paths.MODEL_FIGURE, dataset, figure=f"{n:02d}", model=model, ext=ext)
            for n in FIGURES
            for model in OTHER_MODELS
            if other_model_panels(n, model, dataset)
            for ext in both
        ],
    }


def figure_targets():
    """Every configured dataset's figures and tables, Table 3, and (for the paper's
    dataset) the learning-curve plots DVC shows."""
    parts = [dataset_figure_targets(dataset) for dataset in config["datasets"]]

    def every(kind):
        return [target for part in parts for target in part[kind]]

    plots = [paths.fill(paths.CURVES_PLOT, env=env) for env in config["envs"]]
    return (
        every("figures")
        + every("tables")
        + [CONFIGURATION_TABLE]
        + every("metrics")
        + (plots if PAPER_DATASET in config["datasets"] else [])
        + every("analyses")
        + every("models")
    )


def figure_panels(wildcards):
    """The letters of the panels the configuration can draw; a figure it can draw none
    of stops the run in one line that names why."""
    number = int(wildcards.figure)
    panels = panel_problems(number, dataset_of(wildcards))
    if all(panels.values()):
        raise ValueError(f"figure {number} cannot be drawn: {next(iter(panels.values()))}")
    return [letter for letter, why in panels.items() if why is None]


def figure_tables(wildcards):
    """The table partitions the figure's drawable panels read."""
    panels = figure_panels(wildcards)
    number = int(wildcards.figure)
    return figure_inputs([p for p in FIGURES[number] if p.panel in panels], dataset_of(wildcards))


def figure_caption(wildcards):
    return FIGURES[int(wildcards.figure)][0].caption


def other_models():
    """The spec key naming the other models' labels, only where there are any (so the
    paper's jobs keep their specs)."""
    return {"models": OTHER_MODELS} if OTHER_MODELS else {}


@job_spec
def figure_spec(wildcards):
    return {
        "figure": int(wildcards.figure),
        "catalogue": CATALOGUE,
        "dataset": dataset_of(wildcards),
        "options": section("figures"),
        "panels": figure_panels(wildcards),
        "pdf": placed(paths.FIGURE, wildcards, ext="pdf"),
        "png": placed(paths.FIGURE, wildcards, ext="png"),
        **other_models(),
    }


def model_panels_of(wildcards):
    return other_model_panels(int(wildcards.figure), wildcards.model, dataset_of(wildcards))


def model_figure_tables(wildcards):
    panels = model_panels_of(wildcards)
    if not panels:
        raise ValueError(
            f"figure {wildcards.figure} has no panel of model {wildcards.model!r} to draw: "
            f"it is not one of the models beyond the paper's with per-model panels there "
            f"({sorted(OTHER_MODELS)})"
        )
    return figure_inputs(panels, dataset_of(wildcards))


@job_spec
def model_figure_spec(wildcards):
    return {
        "panels": [vars(p) for p in model_panels_of(wildcards)],
        "drawers": [],
        "dataset": dataset_of(wildcards),
        "options": section("figures"),
        "pdf": placed(paths.MODEL_FIGURE, wildcards, ext="pdf"),
        "png": placed(paths.MODEL_FIGURE, wildcards, ext="png"),
        **other_models(),
    }


def analysis_figure_panels(kind):
    """An analysis' own figure: a panel per configured env, at the first configured seed,
    of every model its experiment trains, at the runs' last epoch."""
    analysis, _ = ANALYSIS_FIGURES[kind]
    experiment = config["analysis"][analysis]["experiment"]
    models = list(dict.fromkeys(run.model for run in RUNS if run.experiment == experiment))
    return [
        Panel(
            figure=0,
            panel=chr(ord("a") + i),
            kind=kind,
            env=env,
            seed=config["seeds"][0],
            token="state",
            models=",".join(models),
            epochs=f"0->{PAPER_FINAL_EPOCH}",
            detail="",
            caption=f"{kind} ({analysis}), seed {config['seeds'][0]}",
        )
        for i, env in enumerate(config["envs"])
    ]


def analysis_figure_tables(wildcards):
    return figure_inputs(analysis_figure_panels(wildcards.kind), dataset_of(wildcards))


@job_spec
def analysis_figure_spec(wildcards):
    return {
        "panels": [vars(panel) for panel in analysis_figure_panels(wildcards.kind)],
        "drawers": [ANALYSIS_FIGURES[wildcards.kind][1]],
        "dataset": dataset_of(wildcards),
        "options": section("figures"),
        "pdf": placed(paths.ANALYSIS_FIGURE, wildcards, ext="pdf"),
        "png": placed(paths.ANALYSIS_FIGURE, wildcards, ext="png"),
    }


def learning_curve_partitions(experiment, envs, seeds, dataset=PAPER_DATASET):
    """{learning_curves partition: the experiment's last epoch in its env}."""
    return {
        table_partition(LEARNING_CURVES, env, dataset, seed, experiment): last_epoch(
            experiment, env
        )
        for env in envs
        for seed in seeds
    }


def paper_table_partitions(wildcards):
    """The learning-curve partitions of the table's experiment, envs and seeds."""
    table = PAPER_TABLES[int(wildcards.number)]
    if paper_table_problem(table):
        raise ValueError(f"Table {table.number} cannot be made: {paper_table_problem(table)}")
    return learning_curve_partitions(
        table.experiment, config["envs"], paper_table_seeds(table), dataset_of(wildcards)
    )


def all_reference_returns():
    """Which score convention is missing for an env (and why) is in its reference returns."""
    return [reference_returns_path(env) for env in config["envs"]]


def paper_table_curves(wildcards):
    return list(paper_table_partitions(wildcards))


@job_spec
def paper_table_spec(wildcards):
    table = PAPER_TABLES[int(wildcards.number)]
    others = {m: OTHER_MODELS[m] for m in experiment_models(table.experiment) if m in OTHER_MODELS}
    return {
        "number": int(wildcards.number),
        "curves": paper_table_partitions(wildcards),
        "published": PUBLISHED,
        "reference_returns": all_reference_returns(),
        "csv": placed(paths.PAPER_TABLE, wildcards, ext="csv"),
        "md": placed(paths.PAPER_TABLE, wildcards, ext="md"),
        "json": placed(paths.PAPER_TABLE_METRICS, wildcards),
        **({"models": others} if others else {}),
        **of_another_dataset(wildcards),
    }


@job_spec
def configuration_table_spec(wildcards):
    return {
        "config": {
            key: section(key) for key in ("training", "backbones", "experiments", "evaluation")
        },
        "md": CONFIGURATION_TABLE,
    }


def learning_curve_plot_partitions(wildcards):
    return learning_curve_partitions("main", [wildcards.env], config["seeds"])


def learning_curve_plot_curves(wildcards):
    return list(learning_curve_plot_partitions(wildcards))


@job_spec
def learning_curve_plot_spec(wildcards):
    # The paper's convention where it exists; D4RL's (always there) without random sets.
    convention = "paper" if has_random_datasets() else "d4rl"
    curves = learning_curve_plot_partitions(wildcards)
    return {
        "curves": curves,
        "convention": convention,
        "out": filled(paths.CURVES_PLOT, wildcards),
    }
