# Reproduction of Takagi 2022 as a DAG of file targets. See README.md.
#   snakemake --cores all --resources gpu=2                     (paper configuration)
#   snakemake --cores all --configfile presets/quick.yaml       (whole DAG on 2 CPU cores)

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


# common.smk first checks the merged configuration (presets given with --configfile are
# merged in by then): a bad key stops the run, naming it, before any job is planned.
include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/train.smk"
include: "rules/probe.smk"
include: "rules/metrics.smk"
include: "rules/figures.smk"
include: "rules/claims.smk"


rule all:
    default_target: True
    input:
        data_targets(),
        train_targets(),
        table_targets(),
        figure_targets(),
        claims_targets(),


# One target rule per stage of dvc.yaml: `snakemake <stage>_stage` builds exactly the
# outputs that stage declares, so DVC and Snakemake share one DAG.
rule data_stage:
    input:
        data_targets(),


rule pretrain_stage:
    input:
        pretrain_targets(),


rule train_stage:
    input:
        train_targets(),


rule probe_stage:
    input:
        probe_targets(),


rule metrics_stage:
    input:
        table_targets(),


rule figures_stage:
    input:
        figure_targets(),


rule claims_stage:
    input:
        claims_targets(),
