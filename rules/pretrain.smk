# Pretrain stage: tiny language and image models for backbones with `source: pretrain`.


rule pretrain_backbone:
    output:
        directory(pretrained_dir("{modality}")),
    params:
        options=lambda wildcards: cli_options(config["pretraining"][wildcards.modality]),
    log:
        "results/logs/pretrain/{modality}.log",
    benchmark:
        "results/benchmarks/pretrain/{modality}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/pretrain_backbone.py --modality {wildcards.modality}"
        " {params.options} --out {output} > {log} 2>&1"
