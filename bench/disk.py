"""Disk use of a configuration's results/, per stage, projected from the sizes that a run
of presets/paper_shapes.yaml measured at the paper's shapes.

    snakemake --cores 2 --configfile presets/paper_shapes.yaml    # once, here
    python bench/disk.py                                          # config.yaml
    python bench/disk.py --measured /other/workdir --config my.yaml --json disk.json

Measured in the paper-shapes run, then counted for every run of the projected config:
- checkpoints: an `epoch<N>.pt` of each model (its mean size), times the epochs each run
  keeps (analyses.checkpoint_epochs), plus its epoch-0 recipe;
- probe dumps: each section's stored size (its HDF5 datasets, compressed) per context
  length, model and section, summed over the sections each epoch's dump carries
  (analyses.probe_sections), plus the probe batch every dump holds;
- run metrics and training logs: bytes per epoch row, times each run's epochs + 1;
- metric tables: bytes per partition row, times the projected rows (the measured rows
  scaled by the analysed epochs, or the runs' epochs for learning curves); the gathered
  table is its partitions again;
- probe batches, reference returns, figures, paper tables, plots, claims, the other
  logs and benchmarks: per file, times the files the projected config makes (figures
  grow with their panels: scaled by the envs).
Estimated, not measured (no D4RL files here): each D4RL v2 file as 1M transitions of its
arrays (observations, next_observations, actions, rewards, terminals, timeouts, and
infos: action_log_probs, qpos, qvel, with nq and nv read from the env's MuJoCo model),
uncompressed. Hub weights live in the Hugging Face cache, outside results/; their size
is printed apart, from the architecture directories the preset built (random weights of
the same shapes and dtype). A training run's resumable state (work/) is transient and
not counted: about three checkpoints (weights and Adam's two moments) per running run.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import h5py
import yaml
from snakemake.utils import update_config

from modality_rl import paths
from modality_rl.analyses import (
    DATA_TABLES,
    LEARNING_CURVES,
    all_tables,
    analysis_of,
    analysis_epochs,
    checkpoint_epochs,
    partitions,
    probe_sections,
)
from modality_rl.budgets import D4RL_TRANSITIONS
from modality_rl.envs import env_spec
from modality_rl.runs import Run, enumerate_runs, experiment_epochs, swapped_block

REPO = Path(__file__).resolve().parents[1]
GB = 1e9


def load_config(*files: Path) -> dict:
    """config.yaml with the given files merged over it, as Snakemake merges them."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in files:
        update_config(config, yaml.safe_load(path.read_text()))
    return config


def model_key(model: str) -> str:
    """Block-swap models share one shape, whichever block was swapped."""
    return "gpt2_block" if swapped_block(model) is not None else model


def context_length(config: dict, run: Run) -> int:
    return config["experiments"][run.experiment]["context_length"]


def mean_size(files: list[Path]) -> float:
    return statistics.fmean(f.stat().st_size for f in files)


def lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


class Measured:
    """Unit sizes, in bytes, read from a workdir where the paper-shapes preset ran."""

    def __init__(self, workdir: Path, config: dict):
        self.root, self.config = workdir, config
        self.runs = enumerate_runs(config)
        if not any((workdir / r.path(paths.RUN_METRICS)).exists() for r in self.runs):
            raise SystemExit(f"{workdir}/results holds no run of the measured config: run "
                             "`snakemake --cores 2 --configfile presets/paper_shapes.yaml` "
                             "there first (or pass --measured)")
        self.checkpoint = self._checkpoints()
        self.section, self.dump_inputs = self._dump_sections()

    def path(self, relative: str) -> Path:
        return self.root / relative

    def _checkpoints(self) -> dict[str, float]:
        files = defaultdict(list)
        for run in self.runs:
            directory = self.path(run.path(paths.RUN_CHECKPOINTS))
            files[model_key(run.model)] += directory.glob("epoch[1-9]*.pt")
        recipes = [self.path(paths.checkpoint(r.path(paths.RUN_CHECKPOINTS), 0))
                   for r in self.runs]
        sizes = {model: mean_size(found) for model, found in files.items() if found}
        sizes["recipe"] = mean_size([r for r in recipes if r.exists()])
        return sizes

    def _dump_sections(self) -> tuple[dict[tuple[int, str, str], float], float]:
        """{(K, model, section): mean stored bytes}, and the probe batch a dump holds."""
        sizes, inputs = defaultdict(list), []
        for run in self.runs:
            for epoch in probe_sections(self.config, run):
                with h5py.File(self.path(paths.dump(run.path(paths.PROBES), epoch))) as f:
                    for section, group in f.items():
                        stored = stored_bytes(group)
                        if section == "inputs":
                            inputs.append(stored)
                        else:
                            key = (context_length(self.config, run), model_key(run.model))
                            sizes[(*key, section)].append(stored)
        return {k: statistics.fmean(v) for k, v in sizes.items()}, statistics.fmean(inputs)

    def run_row_bytes(self, pattern: str) -> float:
        """Bytes per epoch row of a per-run file (metrics.csv, the training log)."""
        per_row = [self.path(run.path(pattern)).stat().st_size
                   / (experiment_epochs(self.config["experiments"][run.experiment], run.env) + 1)
                   for run in self.runs if self.path(run.path(pattern)).exists()]
        return statistics.fmean(per_row)

    def table_row_bytes(self, table: str) -> tuple[float, float]:
        """(bytes per row, mean rows per partition) of a table's partitions."""
        files = [self.path(p) for p in partitions(self.config, table)]
        size = sum(f.stat().st_size for f in files)
        rows = sum(lines(f) - 1 for f in files)
        return size / max(rows, 1), rows / len(files)

    def files(self, pattern: str) -> list[Path]:
        return sorted(self.root.glob(pattern))


def stored_bytes(node: h5py.Group | h5py.Dataset) -> int:
    if isinstance(node, h5py.Dataset):
        return node.id.get_storage_size()
    return sum(stored_bytes(child) for child in node.values())


def d4rl_file_bytes(env: str, dataset: str) -> int:
    """A D4RL v2 file of (env, dataset), uncompressed: per transition (at most
    budgets.D4RL_TRANSITIONS of them), the float32 arrays and the two boolean flags."""
    import gymnasium as gym

    spec = env_spec(env)
    model = gym.make(spec.gym_id).unwrapped.model
    floats = 2 * spec.obs_dim + spec.act_dim + 1 + 1 + model.nq + model.nv  # reward, log prob
    return D4RL_TRANSITIONS[dataset] * (4 * floats + 2)


def analysis_epoch_count(config: dict, analysis: str, env: str) -> int:
    return len(analysis_epochs(config, analysis, env))


def project(measured: Measured, config: dict) -> dict[str, float]:
    """Bytes per stage of `config`'s results/."""
    runs = enumerate_runs(config)
    kept_runs = [r for r in runs if checkpoint_epochs(config, r)]
    stages = {}
    if config["data"]["source"] == "d4rl":
        stages["data (D4RL files, estimated)"] = sum(
            d4rl_file_bytes(env, dataset) for env in config["envs"]
            for dataset in datasets_of(config))
    else:  # synthetic rollouts: as measured, per env
        stages["data (synthetic rollouts)"] = len(config["envs"]) / len(
            measured.config["envs"]) * sum(f.stat().st_size for f in measured.files(
                "results/data/synthetic/*-v2.hdf5"))
    pairs = len(config["envs"]) * len(config["datasets"])
    references = measured.files("results/data/*/*_reference_returns.json")
    stages["data (probe batches, reference returns)"] = (
        pairs * mean_size(measured.files("results/data/*/*_probe.hdf5"))
        + len(config["envs"]) * mean_size(references))
    stages["checkpoints"] = sum(
        len(checkpoint_epochs(config, r)) * checkpoint_bytes(measured, r) for r in kept_runs
    ) + len(runs) * measured.checkpoint["recipe"]
    stages["run metrics"] = measured.run_row_bytes(paths.RUN_METRICS) * epoch_rows(config, runs)
    stages["probe dumps"] = sum(
        dump_bytes(measured, config, run, sections)
        for run in runs for sections in probe_sections(config, run).values())
    stages["metric tables"] = 2 * sum(table_bytes(measured, config, t) for t in all_tables(config))
    envs = len(config["envs"]) / len(measured.config["envs"])
    datasets = len(config["datasets"]) / len(measured.config["datasets"])  # a set each
    stages["figures, paper tables, plots, claims"] = sum(
        sum(f.stat().st_size for f in measured.files(pattern)) * scale
        for pattern, scale in (("results/figures/*", envs * datasets),
                               ("results/paper_tables/*", datasets), ("results/plots/*", envs),
                               ("results/claims*", datasets), ("results/metrics/*", datasets)))
    stages["logs and benchmarks"] = logs_bytes(measured, config, runs)
    return stages


def datasets_of(config: dict) -> set[str]:
    """The D4RL files the configuration reads: its datasets (a stitched one's parts where
    no source serves it: here, as config.yaml's url does, its own file), and the
    reference returns' two."""
    return {*config["datasets"], "random", "expert"}


def checkpoint_bytes(measured: Measured, run: Run) -> float:
    key = model_key(run.model)
    if key not in measured.checkpoint:
        raise SystemExit(f"no checkpoint of model {run.model!r} was measured; run a config "
                         "that keeps one (experiments.<name>.keep_final_checkpoint)")
    return measured.checkpoint[key]


def dump_bytes(measured: Measured, config: dict, run: Run, sections: tuple[str, ...]) -> float:
    key = (context_length(config, run), model_key(run.model))
    missing = [s for s in sections if (*key, s) not in measured.section]
    if missing:
        raise SystemExit(f"no dump section {missing} of model {run.model} at K = {key[0]} "
                         "was measured; the measured config must probe it too")
    return measured.dump_inputs + sum(measured.section[(*key, s)] for s in sections)


def table_bytes(measured: Measured, config: dict, table: str) -> float:
    """A table's partitions at `config`: measured rows per partition, scaled."""
    per_row, rows = measured.table_row_bytes(table)
    count = len(partitions(config, table))
    if table in DATA_TABLES:
        return per_row * rows * count
    if table == LEARNING_CURVES:
        return per_row * epoch_rows(config, enumerate_runs(config))
    analysis = analysis_of(table)
    env = config["envs"][0]
    scale = (analysis_epoch_count(config, analysis, env)
             / analysis_epoch_count(measured.config, analysis, measured.config["envs"][0]))
    return per_row * rows * scale * count


def epoch_rows(config: dict, runs: list[Run]) -> int:
    return sum(experiment_epochs(config["experiments"][r.experiment], r.env) + 1 for r in runs)


def logs_bytes(measured: Measured, config: dict, runs: list[Run]) -> float:
    """Training logs grow with epochs; every other job's log and benchmark is per job."""
    train_log = paths.log(f"train/{paths.RUN_ID}")
    training = measured.run_row_bytes(train_log) * epoch_rows(config, runs)
    others = [f for f in measured.files("results/logs/**/*") + measured.files(
        "results/benchmarks/**/*") if f.is_file() and "/logs/train/" not in str(f)]
    jobs = len(runs) / len(measured.runs)
    return training + sum(f.stat().st_size for f in others) * jobs


def outside_results(measured: Measured) -> dict[str, float]:
    """The hub weights' size, from the preset's random weights of the same architectures."""
    return {f"Hugging Face cache: {d.name} weights": sum(
        f.stat().st_size for f in d.rglob("*") if f.is_file())
        for d in measured.files("results/pretrained/architecture/*")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=Path, default=REPO,
                        help="workdir where the paper-shapes preset ran (default: here)")
    parser.add_argument("--measured-preset", type=Path,
                        default=REPO / "presets" / "paper_shapes.yaml")
    parser.add_argument("--config", type=Path, nargs="*", default=[],
                        help="files merged over config.yaml (default: config.yaml alone)")
    parser.add_argument("--json", type=Path, help="also write the projection here")
    args = parser.parse_args()
    measured = Measured(args.measured, load_config(args.measured_preset))
    config = load_config(*args.config)
    stages = project(measured, config)
    names = " + ".join(str(p) for p in [Path("config.yaml"), *args.config])
    print(f"results/ of {names}: {len(enumerate_runs(config))} runs, projected from "
          f"{args.measured}/results ({len(measured.runs)} runs)")
    for stage, size in stages.items():
        print(f"  {stage:<42} {size / GB:8.2f} GB")
    print(f"  {'total':<42} {sum(stages.values()) / GB:8.2f} GB")
    apart = outside_results(measured)
    for name, size in apart.items():
        print(f"  (outside results/) {name:<23} {size / GB:8.2f} GB")
    if args.json:
        args.json.write_text(json.dumps({"stages_gb": {k: v / GB for k, v in stages.items()},
                                         "total_gb": sum(stages.values()) / GB,
                                         "outside_results_gb": {k: v / GB for k, v in
                                                                apart.items()}}, indent=2))


if __name__ == "__main__":
    main()
