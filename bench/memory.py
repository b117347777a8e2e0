"""Peak memory (RSS) and wall time of the heavy jobs at the paper's shapes, on CPU.

    python bench/memory.py                                 # every job, this checkout
    python bench/memory.py --before 266f317 --norm-samples 8 --cosine-samples 4
    python bench/memory.py --jobs mutual_information --mine-iterations 2

Decision Transformers with randomly initialised bodies of the paper's architectures (the
random body of config.yaml's `backbones.random`; gpt2: GPT2Config 12 x 768, 12 heads,
gelu_new, vocab 50257; ImageGPT-small: GPT2Config 24 x 512, 8 heads, quick_gelu, loaded
into GPT-2 blocks as the pipeline's `igpt`) are saved as `save_pretrained` directories
and run checkpoints, with a probe batch of random Hopper windows shaped like the
configured one (100 windows of K = 20). Then each job runs as the workflow runs it
(`python scripts/<job>.py SPEC --threads 1`), in its own process, one at a time:

- `train`: one job per model, 10 steps of the configured batch (64 windows of K = 20)
  and one evaluation of 2 episodes of 20 steps per target, on a random dataset shaped
  like hopper-medium (1M transitions in 2186 episodes);
- `probe`: one job per model writing one dump with every section, the gradient probe
  included (config.yaml's `analysis.gradients` counts unless overridden);
- the table jobs of one (env, dataset, seed) partition, reading those dumps:
  `mutual_information` (the three main models), `cka` (epochs 0 and final: the same dump
  twice), `attention_distance` (random and gpt2 at five epochs: the same dump five
  times), `gradients`, and `parameter_change` (reads checkpoints).

Each job's peak is its process's maximum resident set size as GNU time (`/usr/bin/time`)
reports it (Snakemake's benchmark `max_rss` measures the same). The models are built in
a process of their own, so that this script stays small (a child's maximum RSS would
count the parent's memory it was forked from). Before a job starts the script waits
until `--min-free-gb` of memory is available (the machine is shared). `--before COMMIT`
runs that commit's scripts and library (`git archive` into the work directory) on the
same models and inputs: the "before" of a before/after comparison. Results go to stdout
and `<work>/results.json`.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from modality_rl.analyses import ANALYSES, DUMP_SECTIONS, analysis_settings
from modality_rl.runs import Run, run_settings

REPO = Path(__file__).resolve().parents[1]
# The architectures' config.json values that shape a body (the rest are GPT2Config's).
ARCHITECTURES = {
    "gpt2": {"n_layer": 12, "n_embd": 768, "n_head": 12, "activation_function": "gelu_new",
             "vocab_size": 50257},
    "igpt": {"n_layer": 24, "n_embd": 512, "n_head": 8, "activation_function": "quick_gelu",
             "vocab_size": 513, "bos_token_id": None, "eos_token_id": None},
}
MODELS = ("random", "gpt2", "igpt")
EPOCH = 1  # the one dump each model gets; every analysis reads it
TABLE_JOBS = ("mutual_information", "cka", "attention_distance", "gradients",
              "parameter_change")
ENV, DATASET, SEED = "hopper", "medium", 666


def source_tree(work: Path, commit: str | None) -> Path:
    """This checkout, or `commit`'s src/, scripts/ and config.yaml under `work`."""
    if commit is None:
        return REPO
    tree = work / "trees" / commit
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit, "src", "scripts", "config.yaml"],
                                 cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def paper_config(tree: Path, pretrained: dict[str, Path], args) -> dict:
    """The tree's config.yaml with the saved bodies as local weights and the overrides."""
    config = yaml.safe_load((tree / "config.yaml").read_text())
    for name, directory in pretrained.items():
        config["backbones"][name] = {"source": "local", "name": str(directory)}
    gradients = config["analysis"]["gradients"]
    gradients["epoch"] = EPOCH
    for key in ("norm_samples", "cosine_samples"):
        if getattr(args, key) is not None:
            gradients[key] = getattr(args, key)
    if args.mine_iterations is not None:
        config["analysis"]["mutual_information"]["iterations"] = args.mine_iterations
    return config


def pretrained_dirs(work: Path) -> dict[str, Path]:
    return {name: work / "pretrained" / name for name in ARCHITECTURES}


def run_of(model: str) -> Run:
    return Run(experiment="main", model=model, env=ENV, dataset=DATASET, seed=SEED)


def settings_of(config: dict, model: str) -> dict:
    locations = {name: {"name_or_path": config["backbones"][name]["name"], "revision": None}
                 for name in ARCHITECTURES}
    return run_settings(config, run_of(model), locations)


def checkpoint_dirs(work: Path) -> dict[str, Path]:
    return {model: work / "checkpoints" / model for model in MODELS}


def prepare(work: Path, config: dict) -> None:
    """(In a process of its own.) The randomly initialised gpt2 and ImageGPT-small bodies
    as save_pretrained directories; each model's initial weights as its checkpoint at
    epochs 0 and EPOCH; the probe batch."""
    import h5py
    import numpy as np
    import torch
    from _model import random_trajectories, random_windows
    from transformers import GPT2Config, GPT2Model

    from modality_rl.envs import env_spec
    from modality_rl.scores import ReferenceReturns, save_reference_returns
    from modality_rl.spec import from_data
    from modality_rl.training import RunSettings

    for name, directory in pretrained_dirs(work).items():
        if not (directory / "config.json").exists():
            torch.manual_seed(0)
            GPT2Model(GPT2Config(**ARCHITECTURES[name])).save_pretrained(directory)
    for model, directory in checkpoint_dirs(work).items():
        if not (directory / f"epoch{EPOCH}.pt").exists():
            directory.mkdir(parents=True, exist_ok=True)
            state = from_data(RunSettings, settings_of(config, model)).build_model().state_dict()
            for epoch in (0, EPOCH):
                torch.save(state, directory / f"epoch{epoch}.pt")
    batch = random_windows(config["probe"]["batch_size"], config["probe"]["context_length"], ENV)
    with h5py.File(work / "probe_batch.hdf5", "w") as f:
        for key, array in batch.as_dict().items():
            f.create_dataset(key, data=array)
    trajectories = random_trajectories(ENV, 2186, 1_000_000)
    with h5py.File(work / "dataset.hdf5", "w") as f:
        for key in ("observations", "actions", "rewards"):
            f.create_dataset(key, data=np.concatenate([getattr(t, key) for t in trajectories]))
        ends = np.cumsum([len(t.rewards) for t in trajectories]) - 1
        f.create_dataset("terminals", data=np.zeros(ends[-1] + 1, bool))
        f.create_dataset("timeouts", data=np.isin(np.arange(ends[-1] + 1), ends))
    spec = env_spec(ENV)
    save_reference_returns(ReferenceReturns(
        env=ENV, paper_random=spec.d4rl_random_score, paper_expert=spec.d4rl_expert_score,
        d4rl_random=spec.d4rl_random_score, d4rl_expert=spec.d4rl_expert_score),
        work / "reference_returns.json")


def probe_spec(tree: Path, config: dict, model: str, checkpoints: Path, probe_batch: Path,
               out: Path) -> dict:
    """Every section at EPOCH, in the spec form of the tree's ProbeJob."""
    gradients = analysis_settings(config, "gradients")
    where = {"settings": settings_of(config, model), "gradients": gradients,
             "checkpoints": str(checkpoints), "probe_batch": str(probe_batch), "out": str(out)}
    if "gradient_epoch" in (tree / "scripts" / "probe_run.py").read_text():  # before 12
        return {**where, "epochs": [EPOCH], "gradient_epoch": EPOCH}
    return {**where, "sections": {str(EPOCH): list(DUMP_SECTIONS)}}


def train_spec(config: dict, model: str, work: Path, out: Path) -> dict:
    """A few steps and one short evaluation of the run, at its real shape and batch."""
    short = json.loads(json.dumps(config))
    short["training"].update(steps_per_epoch=10, warmup_steps=10)
    short["experiments"]["main"]["epochs"] = 1
    short["checkpoint_epochs"] = [0, 1]
    short["evaluation"].update(episodes=2, max_episode_steps=20)
    return {"settings": settings_of(short, model), "dataset": str(work / "dataset.hdf5"),
            "reference_returns": str(work / "reference_returns.json"),
            "work_dir": str(out / "work"), "metrics": str(out / "metrics.csv"),
            "checkpoints": str(out / "checkpoints")}


def table_spec(config: dict, analysis: str, dumps: dict[str, Path],
               checkpoints: dict[str, Path], out: Path) -> dict:
    """One partition of `analysis`, every epoch it reads pointing at the one dump."""
    models, epochs = {
        "mutual_information": (MODELS, [40]), "cka": (MODELS, [0, 40]),
        "attention_distance": (("random", "gpt2"), [0, 1, 4, 10, 40]),
        "gradients": (MODELS, [EPOCH]), "parameter_change": (MODELS, [0, EPOCH]),
    }[analysis]
    if ANALYSES[analysis].reads == "dump":
        inputs = {m: {e: str(dumps[m]) for e in epochs} for m in models}
    else:
        inputs = {m: {e: str(checkpoints[m] / f"epoch{e}.pt") for e in epochs} for m in models}
    return {"analysis": analysis, "epochs": epochs, "inputs": inputs,
            "coordinates": {"experiment": "main", "env": ENV, "dataset": DATASET, "seed": SEED},
            "settings": analysis_settings(config, analysis) if ANALYSES[analysis].table_settings
            else {},
            "out": {table: str(out / f"{table}.csv") for table in ANALYSES[analysis].tables}}


def available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("/proc/meminfo has no MemAvailable")


def wait_for_memory(min_free_gb: float) -> None:
    while (free := available_gb()) < min_free_gb:
        print(f"  waiting: {free:.1f} GB available, {min_free_gb} wanted", flush=True)
        time.sleep(30)


def measure(tree: Path, script: str, spec: dict, log: Path, min_free_gb: float) -> dict:
    """Run one job in its own process: its peak RSS (MB), wall time (s) and exit status."""
    wait_for_memory(min_free_gb)
    spec_file, usage = log.with_suffix(".json"), log.with_suffix(".time")
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = ["/usr/bin/time", "-f", "%M %e", "-o", str(usage), sys.executable,
               str(tree / "scripts" / f"{script}.py"), f"@{spec_file}", "--threads", "1",
               "--device", "cpu"]
    with open(log, "w") as output:
        returncode = subprocess.run(command, env=env, stdout=output,
                                    stderr=subprocess.STDOUT).returncode
    peak_kb, wall = usage.read_text().split()[-2:]  # after "Command exited with ..."
    return {"peak_mb": round(int(peak_kb) / 1024), "wall_s": float(wall),
            "returncode": returncode, "log": str(log)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/modality_rl_memory"))
    parser.add_argument("--before", metavar="COMMIT", help="run this commit's code instead")
    parser.add_argument("--jobs", default=",".join(("train", "probe", *TABLE_JOBS)),
                        help="comma-separated: train, probe and the analyses' table jobs")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="whose train and probe jobs run")
    parser.add_argument("--norm-samples", type=int, help="default: analysis.gradients'")
    parser.add_argument("--cosine-samples", type=int, help="default: analysis.gradients'")
    parser.add_argument("--mine-iterations", type=int, default=20,
                        help="MINE epochs (the paper: 1000; cut for time on a CPU)")
    parser.add_argument("--min-free-gb", type=float, default=12.0)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    label = args.before or "this checkout"
    work = args.work / (f"before-{args.before}" if args.before else "after")
    work.mkdir(parents=True, exist_ok=True)
    tree = source_tree(args.work, args.before)
    config = paper_config(tree, pretrained_dirs(args.work), args)
    if args.prepare:
        return prepare(args.work, config)
    subprocess.run([sys.executable, __file__, "--prepare", "--work", str(args.work)],
                   check=True)
    checkpoints, probe_batch = checkpoint_dirs(args.work), args.work / "probe_batch.hdf5"
    dumps = {model: work / "probes" / model / f"epoch{EPOCH}.hdf5" for model in MODELS}
    results_file = args.work / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    jobs = args.jobs.split(",")
    planned = [(job, model) for job in ("train", "probe") if job in jobs
               for model in args.models.split(",")]
    planned += [(job, "partition") for job in TABLE_JOBS if job in jobs]
    for job, what in planned:
        log = work / f"{job}-{what}.log"
        if job == "train":
            spec = train_spec(config, what, args.work, work / "runs" / what)
            result = measure(tree, "train_run", spec, log, args.min_free_gb)
        elif job == "probe":
            spec = probe_spec(tree, config, what, checkpoints[what], probe_batch,
                              dumps[what].parent)
            result = measure(tree, "probe_run", spec, log, args.min_free_gb)
        else:
            spec = table_spec(config, job, dumps, checkpoints, work / "tables")
            result = measure(tree, "analysis_tables", spec, log, args.min_free_gb)
        result.update(norm_samples=config["analysis"]["gradients"]["norm_samples"],
                      cosine_samples=config["analysis"]["gradients"]["cosine_samples"],
                      mine_iterations=config["analysis"]["mutual_information"]["iterations"])
        results.setdefault(label, {})[f"{job}/{what}"] = result
        results_file.write_text(json.dumps(results, indent=2))
        print(f"{label:>14} {job:>18} {what:>9}: peak {result['peak_mb'] / 1024:6.2f} GB, "
              f"{result['wall_s']:7.1f} s, exit {result['returncode']}", flush=True)


if __name__ == "__main__":
    main()
