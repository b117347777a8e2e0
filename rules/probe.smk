# Probe stage: one job per run an analysis reads, writing one HDF5 dump per analysed
# epoch into the run's probe directory. See modality_rl.probes and modality_rl.analyses.

PROBE_DIR = PROBES_DIR + "/{experiment}/{model}/{env}-{dataset}/seed{seed}"


rule probe_run:
    input:
        checkpoints=f"{RUN_DIR}/checkpoints",
        probe_batch=lambda wildcards: probe_batch_path(wildcards.env),
        pretrained=pretrained_inputs,
    output:
        directory(PROBE_DIR),
    params:
        settings=run_settings_json,
        run=run_json,
        epochs=probed_epoch_options,
        gradients=gradient_options,
    log:
        "results/logs/probe/{experiment}/{model}/{env}-{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/probe/{experiment}/{model}/{env}-{dataset}/seed{seed}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=16000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/probe_run.py --settings {params.settings:q} --run {params.run:q}"
        " --epochs {params.epochs} --checkpoints {input.checkpoints}"
        " --probe-batch {input.probe_batch} {params.gradients} --out {output}"
        " --threads {threads} > {log} 2>&1"
