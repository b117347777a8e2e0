# Figure stage: every data figure of the paper from the metric tables. The catalogue
# (resources/figures.tsv) lists each figure's panels; modality_rl.figures draws them.

from modality_rl.figures.catalogue import data_figures
from modality_rl.figures.draw import figure_inputs
from modality_rl.figures.paper_tables import PAPER_TABLES

FIGURES = data_figures()


wildcard_constraints:
    figure=r"\d\d",
    number="|".join(str(n) for n in PAPER_TABLES),


PAPER_TABLES_DIR = "results/paper_tables"
# What dvc.yaml shows: `metrics` (the paper tables' numbers) and `plots` (learning curves).
METRICS_DIR = "results/metrics"
PLOTS_DIR = "results/plots"


def figure_targets():
    figures = [f"results/figures/fig{n:02d}.{ext}" for n in FIGURES for ext in ("pdf", "png")]
    tables = [f"{PAPER_TABLES_DIR}/table{n}.{ext}" for n in PAPER_TABLES for ext in ("csv", "md")]
    metrics = [f"{METRICS_DIR}/table{n}.json" for n in PAPER_TABLES]
    plots = [f"{PLOTS_DIR}/learning_curves_{env}.csv" for env in config["envs"]]
    return figures + tables + [f"{PAPER_TABLES_DIR}/table3.md"] + metrics + plots


def learning_curve_inputs(experiment, envs, seeds):
    return [table_partition(LEARNING_CURVES, env, config["dataset"], seed, experiment)
            for env in envs for seed in seeds]


def paper_table_inputs(wildcards):
    """The learning-curve partitions of the table's experiment, envs and seeds."""
    table = PAPER_TABLES[int(wildcards.number)]
    return learning_curve_inputs(table.experiment, config["envs"], table.seeds or config["seeds"])


rule figure:
    input:
        lambda wildcards: figure_inputs(int(wildcards.figure), config["dataset"]),
    output:
        pdf=report("results/figures/fig{figure}.pdf", caption="../report/figure.rst",
                   category="Figures"),
        png="results/figures/fig{figure}.png",
    params:
        caption=lambda wildcards: FIGURES[int(wildcards.figure)][0].caption,
        dataset=config["dataset"],
    log:
        "results/logs/figures/fig{figure}.log",
    benchmark:
        "results/benchmarks/figures/fig{figure}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/draw_figure.py --figure {wildcards.figure} --dataset {params.dataset}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule paper_table:
    input:
        curves=paper_table_inputs,
        # Which score convention is missing for an env (and why) is in its reference returns.
        reference_returns=[reference_returns_path(env) for env in config["envs"]],
    output:
        csv=f"{PAPER_TABLES_DIR}/table{{number}}.csv",
        md=report(f"{PAPER_TABLES_DIR}/table{{number}}.md", category="Tables"),
        json=f"{METRICS_DIR}/table{{number}}.json",
    log:
        "results/logs/paper_tables/table{number}.log",
    benchmark:
        "results/benchmarks/paper_tables/table{number}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/paper_table.py --table {wildcards.number} --curves {input.curves}"
        " --reference-returns {input.reference_returns} --csv {output.csv} --md {output.md} --json {output.json} > {log} 2>&1"


rule configuration_table:
    output:
        report(f"{PAPER_TABLES_DIR}/table3.md", category="Tables"),
    params:
        config=lambda wildcards: config_json({key: config[key] for key in (
            "training", "backbones", "experiments", "evaluation")}),
    log:
        "results/logs/paper_tables/table3.log",
    benchmark:
        "results/benchmarks/paper_tables/table3.tsv"
    threads: 1
    resources:
        mem_mb=500,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/configuration_table.py --config {params.config:q} --md {output}"
        " > {log} 2>&1"


rule learning_curve_plot:
    input:
        lambda wildcards: learning_curve_inputs("main", [wildcards.env], config["seeds"]),
    output:
        f"{PLOTS_DIR}/learning_curves_{{env}}.csv",
    log:
        "results/logs/plots/learning_curves_{env}.log",
    benchmark:
        "results/benchmarks/plots/learning_curves_{env}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/learning_curve_plot.py --curves {input} --out {output} > {log} 2>&1"
