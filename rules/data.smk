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
    wildcard_constraints:
        dataset=constraint(fetched_datasets()),
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


# Minari's datasets (data.source: minari), converted to the D4RL v2 layout: NOT the
# paper's data (modality_rl.data.minari_source).
rule fetch_minari_dataset:
    output:
        paths.partial(paths.DATASET, source="minari"),
    log:
        paths.log("data/fetch_minari_dataset/{env}_{dataset}"),
    benchmark:
        paths.benchmark("data/fetch_minari_dataset/{env}_{dataset}")
    wildcard_constraints:
        dataset=constraint(minari_datasets()),
    conda:
        CONDA_ENV
    resources:
        mem_mb=4000,
    params:
        script=script("fetch_minari"),
        code=code("fetch_minari"),
        spec=minari_spec,
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
    wildcard_constraints:
        dataset=constraint(ROLLOUTS),
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


# medium-replay and full-replay: the behaviour policy's SAC trained again (its settings
# and seed), every transition it collects recorded (until it reaches the medium level).
rule record_replay:
    input:
        medium=replay_level_input,
    output:
        paths.partial(paths.DATASET, source="synthetic"),
    log:
        paths.log("data/record_replay/{env}_{dataset}"),
    benchmark:
        paths.benchmark("data/record_replay/{env}_{dataset}")
    wildcard_constraints:
        dataset=constraint(REPLAYS),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        script=script("record_replay"),
        code=code("record_replay"),
        spec=replay_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"


# medium-expert, where no source serves it: medium and expert stitched as D4RL did.
rule stitch_dataset:
    input:
        stitched_inputs,
    output:
        paths.partial(paths.DATASET, source=SOURCE),
    log:
        paths.log("data/stitch_dataset/{env}_{dataset}"),
    benchmark:
        paths.benchmark("data/stitch_dataset/{env}_{dataset}")
    wildcard_constraints:
        dataset=constraint(stitched_datasets()),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        script=script("stitch_dataset"),
        code=code("stitch_dataset"),
        spec=stitch_spec,
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
        paths.partial(paths.PROBE_BATCH, source=SOURCE),
    log:
        paths.log("data/probe_batch/{env}_{dataset}"),
    benchmark:
        paths.benchmark("data/probe_batch/{env}_{dataset}")
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
