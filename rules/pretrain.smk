# Pretrain stage: the pipeline's own weights. Tiny language and image models for backbones
# with `source: pretrain`; the real architectures with RANDOM weights for `source:
# architecture` (presets/paper_shapes.yaml: the paper's shapes, not its weights).


include: "pretrain_helpers.smk"


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
        code=code("pretrain_backbone"),
        spec=pretrain_spec,
    shell:
        "python {params.script} {params.spec:q} --threads {threads} > {log} 2>&1"


rule init_backbone:
    input:
        architecture=architecture_config,
    output:
        directory(paths.ARCHITECTURE),
    log:
        paths.log("pretrain/architecture/{weights}"),
    benchmark:
        paths.benchmark("pretrain/architecture/{weights}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        script=script("init_backbone"),
        code=code("init_backbone"),
        spec=init_backbone_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"
