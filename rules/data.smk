# Data stage: D4RL v2 datasets (real or synthetic), reference returns and probe batches.

from modality_rl.data.sources import D4RLSources

D4RL = config["data"]["d4rl"]
SYNTHETIC = config["data"]["synthetic"]
BEHAVIOUR = SYNTHETIC["behaviour_policy"]


def random_dataset_input(wildcards):
    """The paper's normalisation reads the random set. Where no configured source can serve
    it (the Hub mirror has none), that convention is reported missing instead."""
    if config["data"]["source"] == "d4rl" and not D4RLSources.from_config(D4RL).provides("random"):
        return []
    return dataset_path(wildcards.env, "random")


rule fetch_d4rl_dataset:
    output:
        "results/data/d4rl/{env}_{dataset}-v2.hdf5",
    params:
        d4rl=config_json(D4RL),
    log:
        "results/logs/data/fetch_d4rl_dataset/{env}_{dataset}.log",
    benchmark:
        "results/benchmarks/data/fetch_d4rl_dataset/{env}_{dataset}.tsv"
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/fetch_d4rl.py --env {wildcards.env} --dataset {wildcards.dataset}"
        " --d4rl {params.d4rl:q} --out {output} > {log} 2>&1"


rule train_behaviour_policy:
    output:
        "results/data/synthetic/behaviour/{env}_sac.zip",
    params:
        seed=SYNTHETIC["seed"],
        total_steps=BEHAVIOUR["total_steps"],
        learning_starts=BEHAVIOUR["learning_starts"],
        batch_size=BEHAVIOUR["batch_size"],
        hidden_sizes=BEHAVIOUR["hidden_sizes"],
    log:
        "results/logs/data/train_behaviour_policy/{env}.log",
    benchmark:
        "results/benchmarks/data/train_behaviour_policy/{env}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/train_behaviour_policy.py --env {wildcards.env} --seed {params.seed}"
        " --total-steps {params.total_steps} --learning-starts {params.learning_starts}"
        " --batch-size {params.batch_size} --hidden-sizes {params.hidden_sizes}"
        " --out {output} > {log} 2>&1"


rule synthesize_dataset:
    input:
        policy=behaviour_policy_input,
    output:
        "results/data/synthetic/{env}_{dataset}-v2.hdf5",
    params:
        seed=SYNTHETIC["seed"],
        transitions=lambda wildcards: SYNTHETIC["transitions"][wildcards.dataset],
        noise=SYNTHETIC["medium_action_noise"],
        policy_arg=lambda wildcards, input: f"--policy {input.policy}" if input.policy else "",
    log:
        "results/logs/data/synthesize_dataset/{env}_{dataset}.log",
    benchmark:
        "results/benchmarks/data/synthesize_dataset/{env}_{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/synthesize_dataset.py --env {wildcards.env} --dataset {wildcards.dataset}"
        " --seed {params.seed} --transitions {params.transitions}"
        " --medium-action-noise {params.noise} {params.policy_arg} --out {output} > {log} 2>&1"


rule reference_returns:
    input:
        random=random_dataset_input,
        expert=lambda wildcards: dataset_path(wildcards.env, "expert"),
    output:
        reference_returns_path("{env}"),
    params:
        random_arg=lambda wildcards, input: f"--random {input.random}" if input.random else "",
    log:
        "results/logs/data/reference_returns/{env}.log",
    benchmark:
        "results/benchmarks/data/reference_returns/{env}.tsv"
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/reference_returns.py --env {wildcards.env}"
        " {params.random_arg} --expert {input.expert} --out {output} > {log} 2>&1"


rule probe_batch:
    input:
        lambda wildcards: dataset_path(wildcards.env, config["dataset"]),
    output:
        probe_batch_path("{env}"),
    params:
        size=config["probe"]["batch_size"],
        context_length=config["probe"]["context_length"],
        seed=config["probe"]["seed"],
        max_episode_steps=config["training"]["max_episode_steps"],
        returns_scale=config["training"]["returns_scale"],
    log:
        "results/logs/data/probe_batch/{env}.log",
    benchmark:
        "results/benchmarks/data/probe_batch/{env}.tsv"
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/make_probe_batch.py --dataset {input} --size {params.size}"
        " --context-length {params.context_length} --seed {params.seed}"
        " --max-episode-steps {params.max_episode_steps}"
        " --returns-scale {params.returns_scale} --out {output} > {log} 2>&1"
