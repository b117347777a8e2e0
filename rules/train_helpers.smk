# The train stage's paths, inputs, targets, job specs and memory (rules/train.smk).

from modality_rl import budgets
from modality_rl.analyses import checkpoint_epochs
from modality_rl.runs import run_settings


def settings_of(run):
    """runs.run_settings of one run, with the configured weights' locations (also the
    settings a probe job rebuilds the run's model from)."""
    locations = {w: pretrained_location(w) for w in bodies.weights_of(config, run.model)}
    return canonical(run_settings(config, run, locations, checkpoint_epochs(config, run)))


def train_targets():
    return [run.path(paths.RUN_METRICS) for run in RUNS]


# The jobs whose peak follows the configured shapes declare it (modality_rl.budgets:
# estimated from the shapes, calibrated on the peaks measured at the paper's;
# bench/README.md, "Memory of the jobs"). Other rules declare a constant.
def train_mem_mb(wildcards):
    return budgets.train_mb(config, run_of(wildcards))


# Where the live curves go (config key tracking): derived from the output's path, so
# Snakemake does not compare it with the last run's, and changing it reruns nothing.
def tracking_option(wildcards, output):
    return json.dumps(
        config["tracking"]
        | {
            "run_dir": os.path.dirname(output.metrics),
            "run_id": run_of(wildcards).path(paths.RUN_ID),
        }
    )


@job_spec
def train_spec(wildcards):
    run = run_of(wildcards)
    return {
        "settings": settings_of(run),
        "dataset": dataset_path(run.env, run.dataset),
        "reference_returns": reference_returns_path(run.env),
        "work_dir": run.path(paths.RUN_WORK),
        "metrics": run.path(paths.RUN_METRICS),
        "checkpoints": run.path(paths.RUN_CHECKPOINTS),
    }
