# Data stage: D4RL v2 datasets (real or synthetic), reference returns and probe batches.


include: "data_helpers.smk"


# The checksum list (data.d4rl.checksums) is read and, on a first download, appended to:
# it is a param rather than an input, or every recorded sum would rerun the other fetches.
rule fetch_d4rl_dataset:
    output:
        paths.partial(paths.DATASET, source="d4rl"),
    log:
        paths.log("data/fetch_d4rl_dataset/{env}_{dataset}"),
    benchmark:
        paths.benchmark("data/fetch_d4rl_dataset/{env}_{dataset}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=4000,
    params:
        script=script("fetch_d4rl"),
        code=code("fetch_d4rl"),
        spec=fetch_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


rule train_behaviour_policy:
    output:
        paths.BEHAVIOUR_POLICY,
    log:
        paths.log("data/train_behaviour_policy/{env}"),
    benchmark:
        paths.benchmark("data/train_behaviour_policy/{env}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        script=script("train_behaviour_policy"),
        code=code("train_behaviour_policy"),
        spec=behaviour_policy_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


rule synthesize_dataset:
    input:
        policy=behaviour_policy_input,
    output:
        paths.partial(paths.DATASET, source="synthetic"),
    log:
        paths.log("data/synthesize_dataset/{env}_{dataset}"),
    benchmark:
        paths.benchmark("data/synthesize_dataset/{env}_{dataset}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        script=script("synthesize_dataset"),
        code=code("synthesize_dataset"),
        spec=synthesis_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


rule reference_returns:
    input:
        random=random_dataset_input,
        expert=expert_dataset_input,
    output:
        paths.partial(paths.REFERENCE_RETURNS, source=SOURCE),
    log:
        paths.log("data/reference_returns/{env}"),
    benchmark:
        paths.benchmark("data/reference_returns/{env}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=4000,
    params:
        script=script("reference_returns"),
        code=code("reference_returns"),
        spec=reference_returns_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


rule probe_batch:
    input:
        dataset=probed_dataset_input,
    output:
        paths.partial(paths.PROBE_BATCH, source=SOURCE, dataset=config["dataset"]),
    log:
        paths.log("data/probe_batch/{env}"),
    benchmark:
        paths.benchmark("data/probe_batch/{env}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=4000,
    params:
        script=script("make_probe_batch"),
        code=code("make_probe_batch"),
        spec=probe_batch_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"
