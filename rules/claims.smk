# Claims stage: does this run reproduce the paper? Each claim of resources/claims.yaml is
# tested on the gathered metric tables (modality_rl.claims); the verdicts open the report.

from modality_rl.claims.verdicts import claim_tables, load_claims

CLAIMS_FILE = "resources/claims.yaml"
CLAIMS = load_claims(CLAIMS_FILE)


def claims_targets():
    return ["results/claims.md", "results/claims.csv", "results/claims.rst",
            f"{METRICS_DIR}/claims.json"]


rule claims:
    input:
        tables=[f"{TABLES_DIR}/{table}.csv" for table in claim_tables(CLAIMS)],
        claims=CLAIMS_FILE,
        paper_config="config.yaml",
    output:
        md=report("results/claims.md", category="Claims"),
        csv="results/claims.csv",
        rst="results/claims.rst",
        json=f"{METRICS_DIR}/claims.json",
    params:
        tables_dir=TABLES_DIR,
        config=lambda wildcards: config_json(config),
    log:
        "results/logs/claims.log",
    benchmark:
        "results/benchmarks/claims.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "python {SCRIPTS}/claims.py --claims {input.claims} --tables-dir {params.tables_dir}"
        " --config {params.config:q} --paper-config {input.paper_config}"
        " --md {output.md} --csv {output.csv} --rst {output.rst} --json {output.json}"
        " > {log} 2>&1"
