# Metrics stage: tidy tables from probe dumps, checkpoints and run metrics. Each job writes
# one (env, dataset, seed) partition; gather_table joins them. See modality_rl.tables.


include: "metrics_helpers.smk"


# One rule per analysis, all alike (cka_tables, mutual_information_tables,
# parameter_change_tables, gradients_tables, attention_distance_tables): it reads the
# analysed runs' probe dumps (parameter_change: checkpoints) of one partition and writes
# that partition of each of its tables. The analyses: modality_rl/analyses/<name>.py, each
# planned when the configuration has its section.
for analysis in configured(config):

    rule:
        name:
            f"{analysis}_tables"
        input:
            analysis_inputs(analysis),
        output:
            **analysis_outputs(analysis),
        log:
            paths.log(f"tables/{analysis}/{paths.PARTITION}"),
        benchmark:
            paths.benchmark(f"tables/{analysis}/{paths.PARTITION}")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            gpu=int(ANALYSES[analysis].gpu),
            runs_per_gpu=config["compute"]["runs_per_gpu"],
            mem_mb=table_mem_mb(analysis),
        params:
            script=script("analysis_tables"),
            code=code("analysis_tables", ANALYSES[analysis].builder),
            spec=analysis_spec(analysis),
        shell:
            (
                "python {params.script} {params.spec:q} --threads {threads}"
                " --runs-per-gpu {resources.runs_per_gpu} > {log} 2>&1"
            )


rule mutual_information_data_table:
    input:
        probe_batch=lambda wildcards: probe_batch_path(wildcards.env, wildcards.dataset),
    output:
        MUTUAL_INFORMATION_DATA_PARTITION,
    log:
        paths.log("tables/mutual_information_data/{env}-{dataset}"),
    benchmark:
        paths.benchmark("tables/mutual_information_data/{env}-{dataset}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=mutual_information_data_mem_mb,
    params:
        script=script("mutual_information_data_table"),
        code=code("mutual_information_data_table"),
        spec=mutual_information_data_spec,
    shell:
        "python {params.script} {params.spec:q} --threads {threads} > {log} 2>&1"


rule learning_curve_table:
    input:
        learning_curve_metrics,
    output:
        paths.CURVES_PARTITION,
    log:
        paths.log(f"tables/learning_curves/{{experiment}}/{paths.PARTITION}"),
    benchmark:
        paths.benchmark(f"tables/learning_curves/{{experiment}}/{paths.PARTITION}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        script=script("learning_curve_table"),
        code=code("learning_curve_table"),
        spec=learning_curve_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


rule gather_table:
    input:
        table_partitions,
    output:
        paths.TABLE,
    log:
        paths.log("tables/{table}"),
    benchmark:
        paths.benchmark("tables/{table}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        script=script("gather_table"),
        code=code("gather_table"),
        spec=gather_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"
