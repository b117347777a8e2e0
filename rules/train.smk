# Train stage: one job per run (experiment, model, env, dataset, seed). See modality_rl.runs.


include: "train_helpers.smk"


rule train_run:
    input:
        dataset=lambda wildcards: dataset_path(wildcards.env, wildcards.dataset),
        reference_returns=lambda wildcards: reference_returns_path(wildcards.env),
        pretrained=pretrained_inputs,
    output:
        metrics=paths.RUN_METRICS,
        checkpoints=directory(paths.RUN_CHECKPOINTS),
    log:
        paths.log(f"train/{paths.RUN_ID}"),
    benchmark:
        paths.benchmark(f"train/{paths.RUN_ID}")
    conda:
        CONDA_ENV
    threads: config["compute"]["train_threads"]
    resources:
        gpu=1,
        runs_per_gpu=config["compute"]["runs_per_gpu"],
        mem_mb=train_mem_mb,
    params:
        script=script("train_run"),
        code=code("train_run"),
        spec=train_spec,
        tracking=tracking_option,
    shell:
        (
            "python {params.script} {params.spec:q} --threads {threads}"
            " --runs-per-gpu {resources.runs_per_gpu} --tracking {params.tracking:q}"
            " > {log} 2>&1"
        )
