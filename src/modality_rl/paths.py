"""Where every artifact lives under results/: each file name is spelled here once.

Patterns hold Snakemake wildcards (`{env}`, `{seed}`, ...), so a rule uses them as its
output as they are, and the library fills them for one run with `fill` (or the helpers
below). Imports no torch: the Snakefile plans with it.
"""

from __future__ import annotations

RESULTS = "results"

# -- data: D4RL v2 files (downloaded or synthesised), probe batches, reference returns
DATASET = "results/data/{source}/{env}_{dataset}-v2.hdf5"
BEHAVIOUR_POLICY = "results/data/synthetic/behaviour/{env}_sac.zip"
PROBE_BATCH = "results/data/{source}/{env}_{dataset}_probe.hdf5"
REFERENCE_RETURNS = "results/data/{source}/{env}_reference_returns.json"

PRETRAINED = "results/pretrained/{modality}"  # the pipeline's own tiny pre-trained models
ARCHITECTURE = "results/pretrained/architecture/{weights}"  # real shapes, RANDOM weights

# -- one training run (contract: run identity) -----------------------------------------
RUN_ID = "{experiment}/{model}/{env}-{dataset}/seed{seed}"
RUN = f"results/runs/{RUN_ID}"
RUN_METRICS = f"{RUN}/metrics.csv"
RUN_CHECKPOINTS = f"{RUN}/checkpoints"
RUN_WORK = f"{RUN}/work"  # resumable state while the run trains
CHECKPOINT = "epoch{epoch}.pt"  # inside a checkpoints (or work) directory
# Epoch 0, the untrained model, is kept as its recipe: the run's settings, from which it
# is rebuilt bit for bit (inputs.load_checkpoint).
UNTRAINED = "epoch0.json"

# -- probes of one run: one dump per analysed epoch ---------------------------------------
PROBES = f"results/probes/{RUN_ID}"
DUMP = "epoch{epoch}.hdf5"  # inside a probes directory

# -- metric tables: partitions by (env, dataset, seed), gathered into one CSV --------------
TABLE = "results/tables/{table}.csv"
PARTITION = "{env}-{dataset}_seed{seed}"
TABLE_PARTITION = f"results/tables/{{table}}/{PARTITION}.csv"
DATA_TABLE_PARTITION = "results/tables/{table}/{env}-{dataset}.csv"  # tables of data, no seed
CURVES_PARTITION = f"results/tables/learning_curves/{{experiment}}/{PARTITION}.csv"

# -- figures and the paper's tables ----------------------------------------------------
FIGURE = "results/figures/fig{figure}.{ext}"
# An analysis' own figures beyond the paper's (analyses.entry.Analysis.figures).
ANALYSIS_FIGURE = "results/figures/analyses/{kind}.{ext}"
# A paper figure's per-model panels for a model beyond the paper's three (figures.draw).
MODEL_FIGURE = "results/figures/models/fig{figure}_{model}.{ext}"
PAPER_TABLE = "results/paper_tables/table{number}.{ext}"
PAPER_TABLE_METRICS = "results/metrics/table{number}.json"  # dvc metrics
CURVES_PLOT = "results/plots/learning_curves_{env}.csv"  # dvc plots

# -- does this run reproduce the paper? --------------------------------------------------
CLAIMS_MD = "results/claims.md"
CLAIMS_CSV = "results/claims.csv"
CLAIMS_RST = "results/claims.rst"  # the report's front page
CLAIMS_METRICS = "results/metrics/claims.json"  # dvc metrics



def of_dataset(pattern: str) -> str:
    """A figure, table, claim or log pattern of a dataset other than the paper's (medium,
    whose files keep the paper's names): the same file in a folder named after the dataset,
    inside its stage's folder (results/figures/fig01.pdf ->
    results/figures/{dataset}/fig01.pdf; results/claims.md -> results/claims/{dataset}.md)."""
    root, stage, *rest = pattern.split("/", 2)
    if not rest:  # a file of results/ itself: its stem becomes the folder
        stem, ext = stage.split(".", 1)
        return f"{root}/{stem}/{{dataset}}.{ext}"
    return f"{root}/{stage}/{{dataset}}/{rest[0]}"


def fill(pattern: str, **values: object) -> str:
    """A pattern with its wildcards filled: fill(RUN_METRICS, **run.wildcards)."""
    return pattern.format(**values)


def partial(pattern: str, **values: object) -> str:
    """A pattern with some wildcards filled and the others kept, for a rule's output:
    partial(DATASET, source="d4rl") is "results/data/d4rl/{env}_{dataset}-v2.hdf5"."""
    return pattern.format_map(_KeepMissing(values))


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def log(job: str) -> str:
    """Every job's log: results/logs/<stage>/<job>.log (`job` may hold wildcards)."""
    return f"results/logs/{job}.log"


def benchmark(job: str) -> str:
    """Every job's time and memory (Snakemake's benchmark file), beside its log."""
    return f"results/benchmarks/{job}.tsv"


def checkpoint(directory: str, epoch: int) -> str:
    """A run's weights at `epoch` (0: the untrained model's recipe)."""
    return f"{directory}/{UNTRAINED if epoch == 0 else fill(CHECKPOINT, epoch=epoch)}"


def dump(directory: str, epoch: int) -> str:
    return f"{directory}/{fill(DUMP, epoch=epoch)}"
