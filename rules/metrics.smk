# Metrics stage: tidy tables from probe dumps, checkpoints and run metrics. Each job writes
# one (env, dataset, seed) partition; gather_table joins them. See modality_rl.tables.

PARTITION = "{env}-{dataset}_seed{seed}"


rule cka_tables:
    input:
        analysis_inputs("cka"),
    output:
        **table_outputs("cka"),
    params:
        inputs=input_options("cka"),
        outputs=output_options,
        coordinates=coordinates_json("cka"),
        epochs=analysis_epoch_options("cka"),
        thresholds=" ".join(map(str, config["analysis"]["cka"]["thresholds"])),
        biased="" if config["analysis"]["cka"]["debiased"] else "--biased",
    log:
        f"results/logs/tables/cka/{PARTITION}.log",
    benchmark:
        f"results/benchmarks/tables/cka/{PARTITION}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/cka_tables.py {params.inputs} {params.outputs}"
        " --coordinates {params.coordinates:q} --epochs {params.epochs}"
        " --thresholds {params.thresholds} {params.biased} > {log} 2>&1"


rule mutual_information_tables:
    input:
        analysis_inputs("mutual_information"),
    output:
        **table_outputs("mutual_information"),
    params:
        inputs=input_options("mutual_information"),
        outputs=output_options,
        coordinates=coordinates_json("mutual_information"),
        epoch=analysis_epoch_options("mutual_information"),
        mine=mine_json(),
    log:
        f"results/logs/tables/mutual_information/{PARTITION}.log",
    benchmark:
        f"results/benchmarks/tables/mutual_information/{PARTITION}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=16000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/mutual_information_tables.py {params.inputs} {params.outputs}"
        " --coordinates {params.coordinates:q} --epoch {params.epoch} --mine {params.mine:q}"
        " --threads {threads} > {log} 2>&1"


rule mutual_information_data_table:
    input:
        probe_batch=lambda wildcards: probe_batch_path(wildcards.env),
    output:
        f"{TABLES_DIR}/mutual_information_data/{{env}}-{{dataset}}.csv",
    params:
        coordinates=lambda wildcards: json.dumps({"env": wildcards.env,
                                                  "dataset": wildcards.dataset}),
        mine=mine_json(),
    log:
        "results/logs/tables/mutual_information_data/{env}-{dataset}.log",
    benchmark:
        "results/benchmarks/tables/mutual_information_data/{env}-{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/mutual_information_data_table.py --probe-batch {input.probe_batch}"
        " --coordinates {params.coordinates:q} --mine {params.mine:q} --out {output}"
        " --threads {threads} > {log} 2>&1"


rule parameter_change_table:
    input:
        analysis_inputs("parameter_change", kind="checkpoints"),
    output:
        **table_outputs("parameter_change"),
    params:
        inputs=input_options("parameter_change", kind="checkpoints"),
        outputs=output_options,
        coordinates=coordinates_json("parameter_change"),
        epochs=analysis_epoch_options("parameter_change"),
    log:
        f"results/logs/tables/parameter_change/{PARTITION}.log",
    benchmark:
        f"results/benchmarks/tables/parameter_change/{PARTITION}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/parameter_change_table.py {params.inputs} {params.outputs}"
        " --coordinates {params.coordinates:q} --epochs {params.epochs} > {log} 2>&1"


rule gradient_tables:
    input:
        analysis_inputs("gradients"),
    output:
        **table_outputs("gradients"),
    params:
        inputs=input_options("gradients"),
        outputs=output_options,
        coordinates=coordinates_json("gradients"),
        epoch=analysis_epoch_options("gradients"),
    log:
        f"results/logs/tables/gradients/{PARTITION}.log",
    benchmark:
        f"results/benchmarks/tables/gradients/{PARTITION}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/gradient_tables.py {params.inputs} {params.outputs}"
        " --coordinates {params.coordinates:q} --epoch {params.epoch} > {log} 2>&1"


rule attention_distance_tables:
    input:
        analysis_inputs("attention_distance"),
    output:
        **table_outputs("attention_distance"),
    params:
        inputs=input_options("attention_distance"),
        outputs=output_options,
        coordinates=coordinates_json("attention_distance"),
        epochs=analysis_epoch_options("attention_distance"),
    log:
        f"results/logs/tables/attention_distance/{PARTITION}.log",
    benchmark:
        f"results/benchmarks/tables/attention_distance/{PARTITION}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/attention_distance_tables.py {params.inputs} {params.outputs}"
        " --coordinates {params.coordinates:q} --epochs {params.epochs} > {log} 2>&1"


def learning_curve_runs(wildcards):
    return [run for run in RUNS if (run.experiment, run.env, run.dataset, run.seed) ==
            (wildcards.experiment, wildcards.env, wildcards.dataset, int(wildcards.seed))]


rule learning_curve_table:
    input:
        lambda wildcards: [f"{run.directory}/metrics.csv" for run in learning_curve_runs(wildcards)],
    output:
        f"{TABLES_DIR}/{LEARNING_CURVES}/{{experiment}}/{PARTITION}.csv",
    params:
        metrics=lambda wildcards: " ".join(f"--metrics {run.model} {run.directory}/metrics.csv"
                                           for run in learning_curve_runs(wildcards)),
        coordinates=lambda wildcards: json.dumps({
            "experiment": wildcards.experiment, "env": wildcards.env,
            "dataset": wildcards.dataset, "seed": int(wildcards.seed)}),
    log:
        f"results/logs/tables/learning_curves/{{experiment}}/{PARTITION}.log",
    benchmark:
        f"results/benchmarks/tables/learning_curves/{{experiment}}/{PARTITION}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/learning_curve_table.py {params.metrics}"
        " --coordinates {params.coordinates:q} --out {output} > {log} 2>&1"


rule gather_table:
    input:
        lambda wildcards: partitions(config, wildcards.table),
    output:
        f"{TABLES_DIR}/{{table}}.csv",
    log:
        "results/logs/tables/{table}.log",
    benchmark:
        "results/benchmarks/tables/{table}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/gather_table.py --partitions {input} --out {output} > {log} 2>&1"
