# The claims stage's paths, inputs, targets, job specs and memory (rules/claims.smk).

from modality_rl.claims.report import compared_settings
from modality_rl.claims.verdicts import claim_tables, load_claims

CLAIMS_FILE = "resources/claims.yaml"
# The paper's configuration, which the claims report compares this one to.
PAPER_CONFIG = "config.yaml"


CLAIMS_OUTPUTS = (paths.CLAIMS_MD, paths.CLAIMS_CSV, paths.CLAIMS_RST, paths.CLAIMS_METRICS)


def claims_targets():
    """Each configured dataset's verdicts (the paper's dataset's at the paper's paths)."""
    return [
        dataset_target(path, dataset) for dataset in config["datasets"] for path in CLAIMS_OUTPUTS
    ]


def claims_tables():
    """{table: its gathered CSV} of every table some claim reads."""
    return {
        table: paths.fill(paths.TABLE, table=table)
        for table in claim_tables(load_claims(CLAIMS_FILE), all_tables(config))
    }


@job_spec
def claims_spec(wildcards):
    return {
        "claims": CLAIMS_FILE,
        "tables": claims_tables(),
        "config": canonical(compared_settings(config)),
        "paper_config": PAPER_CONFIG,
        "md": placed(paths.CLAIMS_MD, wildcards),
        "csv": placed(paths.CLAIMS_CSV, wildcards),
        "rst": placed(paths.CLAIMS_RST, wildcards),
        "json": placed(paths.CLAIMS_METRICS, wildcards),
        **of_another_dataset(wildcards),
    }
