# Claims stage: does this run reproduce the paper? Each claim of resources/claims.yaml is
# tested on the gathered metric tables (modality_rl.claims); the verdicts open the report.


include: "claims_helpers.smk"


rule claims:
    input:
        claims=CLAIMS_FILE,
        paper_config=PAPER_CONFIG,
        tables=claims_tables().values(),
    output:
        md=report(paths.CLAIMS_MD, category="Claims"),
        csv=paths.CLAIMS_CSV,
        rst=paths.CLAIMS_RST,
        json=paths.CLAIMS_METRICS,
    log:
        paths.log("claims"),
    benchmark:
        paths.benchmark("claims")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        script=script("claims"),
        code=code("claims"),
        spec=claims_spec,
    shell:
        "python {params.script} {params.spec:q} > {log} 2>&1"
