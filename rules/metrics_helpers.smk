# The metrics stage's paths, inputs, targets, job specs and memory (rules/metrics.smk).

from modality_rl.analyses import (
    ANALYSES,
    all_tables,
    analysed_runs,
    analysis_epochs,
    configured,
    partitions,
    probe_dump_path,
)

MUTUAL_INFORMATION_DATA_PARTITION = paths.partial(
    paths.DATA_TABLE_PARTITION, table="mutual_information_data"
)


wildcard_constraints:
    table="|".join(all_tables(config)),


def table_targets():
    return [paths.fill(paths.TABLE, table=table) for table in all_tables(config)]


def partition_runs(analysis, wildcards):
    return analysed_runs(config, analysis, wildcards.env, wildcards.dataset, int(wildcards.seed))


def analysis_inputs(analysis):
    """Input function: the probe directories of the runs one partition of `analysis`
    reads, or their checkpoint directories and the pipeline's weights their untrained
    models are rebuilt from."""
    reads_dumps = ANALYSES[analysis].reads == "dump"

    def inputs(wildcards):
        runs = partition_runs(analysis, wildcards)
        if reads_dumps:
            return [probe_dir(run) for run in runs]
        weights = {path for run in runs for path in pretrained_inputs(run)}
        return [run.path(paths.RUN_CHECKPOINTS) for run in runs] + sorted(weights)

    return inputs


def analysis_outputs(analysis):
    """The partition of each of the analysis' tables, as named outputs."""
    return {
        table: paths.partial(paths.TABLE_PARTITION, table=table)
        for table in ANALYSES[analysis].tables
    }


def table_mem_mb(analysis):
    def mem_mb(wildcards):
        seed = int(wildcards.seed)
        return budgets.table_mb(config, analysis, wildcards.env, wildcards.dataset, seed)

    return mem_mb


def mutual_information_data_mem_mb(wildcards):
    return budgets.mutual_information_data_mb(config, wildcards.env)


def analysis_spec(analysis):
    reads_dumps = ANALYSES[analysis].reads == "dump"

    def build(wildcards):
        epochs = analysis_epochs(config, analysis, wildcards.env)
        runs = partition_runs(analysis, wildcards)
        return {
            "analysis": analysis,
            "epochs": epochs,
            "inputs": {
                run.model: {
                    e: (
                        probe_dump_path(run, e)
                        if reads_dumps
                        else paths.checkpoint(run.path(paths.RUN_CHECKPOINTS), e)
                    )
                    for e in epochs
                }
                for run in runs
            },
            "coordinates": {
                "experiment": config["analysis"][analysis]["experiment"],
                "env": wildcards.env,
                "dataset": wildcards.dataset,
                "seed": int(wildcards.seed),
                **DATA_COORDINATE,
            },
            "settings": (
                canonical(analysis_settings(config, analysis))
                if ANALYSES[analysis].table_settings
                else {}
            ),
            "out": {
                table: filled(pattern, wildcards)
                for table, pattern in analysis_outputs(analysis).items()
            },
        }

    return job_spec(build)


@job_spec
def mutual_information_data_spec(wildcards):
    return {
        "probe_batch": probe_batch_path(wildcards.env, wildcards.dataset),
        "coordinates": {"env": wildcards.env, "dataset": wildcards.dataset, **DATA_COORDINATE},
        "mine": canonical(analysis_settings(config, "mutual_information")),
        "out": filled(MUTUAL_INFORMATION_DATA_PARTITION, wildcards),
    }


def learning_curve_runs(wildcards):
    return [
        run
        for run in RUNS
        if (run.experiment, run.env, run.dataset, run.seed)
        == (wildcards.experiment, wildcards.env, wildcards.dataset, int(wildcards.seed))
    ]


def learning_curve_metrics(wildcards):
    return [run.path(paths.RUN_METRICS) for run in learning_curve_runs(wildcards)]


@job_spec
def learning_curve_spec(wildcards):
    return {
        "metrics": {
            run.model: run.path(paths.RUN_METRICS) for run in learning_curve_runs(wildcards)
        },
        "epochs": {
            run.model: last_epoch(run.experiment, run.env) for run in learning_curve_runs(wildcards)
        },
        "coordinates": {
            "experiment": wildcards.experiment,
            "env": wildcards.env,
            "dataset": wildcards.dataset,
            "seed": int(wildcards.seed),
            **DATA_COORDINATE,
        },
        "out": filled(paths.CURVES_PARTITION, wildcards),
    }


def table_partitions(wildcards):
    return partitions(config, wildcards.table)


@job_spec
def gather_spec(wildcards):
    return {"partitions": table_partitions(wildcards), "out": filled(paths.TABLE, wildcards)}
