# Claims stage: does this run reproduce the paper? Each claim of resources/claims.yaml is
# tested on the gathered metric tables (modality_rl.claims); the verdicts open the report.


include: "claims_helpers.smk"


# Once per layout (figures_helpers.LAYOUTS): the paper's dataset's verdicts at the
# paper's paths, another dataset's in results/claims/<dataset>.*.
for suffix, place in LAYOUTS.items():

    rule:
        name:
            f"claims{suffix}"
        input:
            claims=CLAIMS_FILE,
            paper_config=PAPER_CONFIG,
            tables=claims_tables().values(),
        output:
            md=report(place(paths.CLAIMS_MD), category="Claims"),
            csv=place(paths.CLAIMS_CSV),
            rst=place(paths.CLAIMS_RST),
            json=place(paths.CLAIMS_METRICS),
        log:
            place(paths.log("claims")),
        benchmark:
            place(paths.benchmark("claims"))
        wildcard_constraints:
            dataset=constraint(OTHER_DATASETS),
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
