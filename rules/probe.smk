# Probe stage: one job per run an analysis reads, writing one HDF5 dump per analysed
# epoch into the run's probe directory. See modality_rl.probes and modality_rl.analyses.


include: "probe_helpers.smk"


rule probe_run:
    input:
        checkpoints=rules.train_run.output.checkpoints,
        probe_batch=lambda wildcards: probe_batch_path(wildcards.env, wildcards.dataset),
        pretrained=pretrained_inputs,
    output:
        directory(paths.PROBES),
    log:
        paths.log(f"probe/{paths.RUN_ID}"),
    benchmark:
        paths.benchmark(f"probe/{paths.RUN_ID}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        gpu=1,
        runs_per_gpu=config["compute"]["runs_per_gpu"],
        mem_mb=probe_mem_mb,
    params:
        script=script("probe_run"),
        code=code("probe_run"),
        spec=probe_spec,
    shell:
        (
            "python {params.script} {params.spec:q} --threads {threads}"
            " --runs-per-gpu {resources.runs_per_gpu} > {log} 2>&1"
        )
