# Figure stage: every data figure of the paper from the metric tables. The catalogue
# (resources/figures.tsv) lists each figure's panels; modality_rl.figures draws them.


include: "figures_helpers.smk"


# Each of these rules is made once per layout (figures_helpers.LAYOUTS): the paper's
# dataset's files keep the paper's names, another dataset's sit in folders named after it.
for suffix, place in LAYOUTS.items():

    rule:
        name:
            f"figure{suffix}"
        input:
            catalogue=CATALOGUE,
            tables=figure_tables,
        output:
            pdf=report(
                place(paths.partial(paths.FIGURE, ext="pdf")),
                caption="../report/figure.rst",
                category="Figures",
            ),
            png=place(paths.partial(paths.FIGURE, ext="png")),
        log:
            place(paths.log("figures/fig{figure}")),
        benchmark:
            place(paths.benchmark("figures/fig{figure}"))
        wildcard_constraints:
            dataset=constraint(OTHER_DATASETS),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=2000,
        params:
            caption=figure_caption,
            script=script("draw_figure"),
            code=code("draw_figure"),
            spec=figure_spec,
        shell:
            "python {params.script} {params.spec:q} > {log} 2>&1"

    # An analysis' own figures (its registry entry's `figures`), one panel per env.
    rule:
        name:
            f"analysis_figure{suffix}"
        input:
            tables=analysis_figure_tables,
        output:
            pdf=report(
                place(paths.partial(paths.ANALYSIS_FIGURE, ext="pdf")),
                caption="../report/analysis_figure.rst",
                category="Analyses",
            ),
            png=place(paths.partial(paths.ANALYSIS_FIGURE, ext="png")),
        log:
            place(paths.log("figures/analyses/{kind}")),
        benchmark:
            place(paths.benchmark("figures/analyses/{kind}"))
        wildcard_constraints:
            dataset=constraint(OTHER_DATASETS),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=2000,
        params:
            caption=lambda wildcards: analysis_figure_panels(wildcards.kind)[0].caption,
            script=script("draw_panels"),
            code=lambda wildcards: code("draw_panels", ANALYSIS_FIGURES[wildcards.kind][1]),
            spec=analysis_figure_spec,
        shell:
            "python {params.script} {params.spec:q} > {log} 2>&1"

    # A paper figure's per-model panels for each model beyond the paper's three.
    rule:
        name:
            f"model_figure{suffix}"
        input:
            tables=model_figure_tables,
        output:
            pdf=report(
                place(paths.partial(paths.MODEL_FIGURE, ext="pdf")),
                caption="../report/figure.rst",
                category="Figures of other models",
            ),
            png=place(paths.partial(paths.MODEL_FIGURE, ext="png")),
        log:
            place(paths.log("figures/models/fig{figure}_{model}")),
        benchmark:
            place(paths.benchmark("figures/models/fig{figure}_{model}"))
        wildcard_constraints:
            dataset=constraint(OTHER_DATASETS),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=2000,
        params:
            caption=figure_caption,
            script=script("draw_panels"),
            code=code("draw_panels"),
            spec=model_figure_spec,
        shell:
            "python {params.script} {params.spec:q} > {log} 2>&1"

    rule:
        name:
            f"paper_table{suffix}"
        input:
            published=PUBLISHED,
            curves=paper_table_curves,
            reference_returns=all_reference_returns(),
        output:
            csv=place(paths.partial(paths.PAPER_TABLE, ext="csv")),
            md=report(place(paths.partial(paths.PAPER_TABLE, ext="md")), category="Tables"),
            json=place(paths.PAPER_TABLE_METRICS),
        log:
            place(paths.log("paper_tables/table{number}")),
        benchmark:
            place(paths.benchmark("paper_tables/table{number}"))
        wildcard_constraints:
            dataset=constraint(OTHER_DATASETS),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
        params:
            script=script("paper_table"),
            code=code("paper_table"),
            spec=paper_table_spec,
        shell:
            "python {params.script} {params.spec:q} > {log} 2>&1"


rule configuration_table:
    output:
        report(CONFIGURATION_TABLE, category="Tables"),
    log:
        paths.log("paper_tables/table3"),
    benchmark:
        paths.benchmark("paper_tables/table3")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
    params:
        script=script("configuration_table"),
        code=code("configuration_table"),
        spec=configuration_table_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


rule learning_curve_plot:
    input:
        learning_curve_plot_curves,
    output:
        paths.CURVES_PLOT,
    log:
        paths.log("plots/learning_curves_{env}"),
    benchmark:
        paths.benchmark("plots/learning_curves_{env}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        script=script("learning_curve_plot"),
        code=code("learning_curve_plot"),
        spec=learning_curve_plot_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"
