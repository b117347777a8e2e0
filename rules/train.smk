# Train stage: one job per run (experiment, model, env, dataset, seed). See modality_rl.runs.

RUN_DIR = RUNS_DIR + "/{experiment}/{model}/{env}-{dataset}/seed{seed}"


rule train_run:
    input:
        dataset=lambda wildcards: dataset_path(wildcards.env, wildcards.dataset),
        reference_returns=lambda wildcards: reference_returns_path(wildcards.env),
        pretrained=pretrained_inputs,
    output:
        metrics=f"{RUN_DIR}/metrics.csv",
        checkpoints=directory(f"{RUN_DIR}/checkpoints"),
    params:
        settings=run_settings_json,
        work_dir=f"{RUN_DIR}/work",
        bf16="--bf16" if config["training"]["bf16"] else "",
    log:
        "results/logs/train/{experiment}/{model}/{env}-{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/{model}/{env}-{dataset}/seed{seed}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/train_run.py --settings {params.settings:q} --dataset {input.dataset}"
        " --reference-returns {input.reference_returns} --work-dir {params.work_dir}"
        " --metrics {output.metrics} --checkpoints {output.checkpoints}"
        " --threads {threads} {params.bf16} > {log} 2>&1"
