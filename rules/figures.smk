# Figure stage: every data figure of the paper from the metric tables. The catalogue
# (resources/figures.tsv) lists each figure's panels; modality_rl.figures draws them.

from modality_rl.figures.catalogue import data_figures
from modality_rl.figures.draw import figure_inputs
from modality_rl.figures.paper_tables import PAPER_TABLES

FIGURES = data_figures()


wildcard_constraints:
    figure=r"\d\d",
    number="|".join(str(n) for n in PAPER_TABLES),


def figure_targets():
    figures = [f"results/figures/fig{n:02d}.{ext}" for n in FIGURES for ext in ("pdf", "png")]
    tables = [f"results/tables/paper/table{n}.{ext}" for n in PAPER_TABLES for ext in ("csv", "md")]
    return figures + tables + ["results/tables/paper/table3.md"]


def paper_table_inputs(wildcards):
    """The learning-curve partitions of the table's experiment, envs and seeds."""
    table = PAPER_TABLES[int(wildcards.number)]
    seeds = table.seeds or config["seeds"]
    return [table_partition(LEARNING_CURVES, env, config["dataset"], seed, table.experiment)
            for env in config["envs"] for seed in seeds]


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
        paper_table_inputs,
    output:
        csv="results/tables/paper/table{number}.csv",
        md=report("results/tables/paper/table{number}.md", category="Tables"),
    log:
        "results/logs/tables/paper/table{number}.log",
    benchmark:
        "results/benchmarks/tables/paper/table{number}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/paper_table.py --table {wildcards.number} --curves {input}"
        " --csv {output.csv} --md {output.md} > {log} 2>&1"


rule configuration_table:
    output:
        report("results/tables/paper/table3.md", category="Tables"),
    params:
        config=lambda wildcards: json.dumps({key: config[key] for key in (
            "training", "backbones", "experiments", "evaluation")}),
    log:
        "results/logs/tables/paper/table3.log",
    benchmark:
        "results/benchmarks/tables/paper/table3.tsv"
    threads: 1
    resources:
        mem_mb=500,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/configuration_table.py --config {params.config:q} --md {output}"
        " > {log} 2>&1"
