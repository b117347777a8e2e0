# Pretrain stage: tiny language and image models for backbones with `source: pretrain`.


rule pretrain_backbone:
    output:
        directory(paths.PRETRAINED),
    log:
        paths.log("pretrain/{modality}"),
    benchmark:
        paths.benchmark("pretrain/{modality}")
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=4000,
    params:
        script=script("pretrain_backbone"),
        spec=pretrain_spec,
    shell:
        "python {params.script} {params.spec:q} --threads {threads} > {log} 2>&1"
