# Probe stage: one HDF5 dump per (run, epoch) an analysis reads. See modality_rl.probes.

PROBE_DUMP = PROBES_DIR + "/{experiment}/{model}/{env}-{dataset}/seed{seed}/epoch{epoch}.hdf5"


rule probe_run:
    input:
        checkpoints=f"{RUN_DIR}/checkpoints",
        probe_batch=lambda wildcards: probe_batch_path(wildcards.env),
        pretrained=pretrained_inputs,
    output:
        PROBE_DUMP,
    params:
        settings=run_settings_json,
        run=run_json,
        gradients=gradient_options,
    log:
        "results/logs/probe/{experiment}/{model}/{env}-{dataset}/seed{seed}/epoch{epoch}.log",
    benchmark:
        "results/benchmarks/probe/{experiment}/{model}/{env}-{dataset}/seed{seed}/epoch{epoch}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=16000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/probe_run.py --settings {params.settings:q} --run {params.run:q}"
        " --epoch {wildcards.epoch} --checkpoint {input.checkpoints}/epoch{wildcards.epoch}.pt"
        " --probe-batch {input.probe_batch} {params.gradients} --out {output}"
        " --threads {threads} > {log} 2>&1"
