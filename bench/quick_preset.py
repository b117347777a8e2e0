"""The whole quick preset on this machine: wall time stage by stage, and job-seconds by
job kind (from Snakemake's per-job benchmark files), for this commit and, with --before,
an earlier one in the same invocation (so that both meet the same machine load).

    python bench/quick_preset.py --cores 2
    python bench/quick_preset.py --cores 2 --before 437cdbd

Clones each commit into a fresh directory (nothing cached is reused) and runs, with
that clone's src/ first on PYTHONPATH (so each commit runs its own library),
`snakemake <stage>_stage --cores N --configfile presets/quick.yaml` for the stages of
dvc.yaml in order. Per job kind (rule, or the benchmark folder standing for it) it sums
the jobs' wall seconds `s` and CPU seconds `cpu_time`; `s - cpu_time` is time a job spent
not on a CPU of its own (waiting for one, or for I/O; negative where it used several).
Snakemake samples a job's CPU time every 0.5 s for its first 15 s, then every 30 s, so a
longer job's `cpu_time` is as of a sample up to 30 s before its end: `cpu_time` and
`waiting` sum only the jobs of at most 15 s, and `long_jobs` counts the others.
The builds run with PYTHONPROFILEIMPORTTIME=1, so every job's log lists the modules its
Python processes imported and how long each took: `imports` sums them per kind, the
job-seconds spent starting up rather than working. With --before it prints the ratios
before / now.
"""

import argparse
import csv
import json
import os
import re
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from snakemake.benchmark import BENCHMARK_INTERVAL, BENCHMARK_INTERVAL_SHORT

REPO = Path(__file__).resolve().parents[1]
# A top-level entry of Python's import profile (`import time: self | cumulative | name`,
# nested modules indented after the bar): the cumulative microseconds of one import.
TOP_LEVEL_IMPORT = re.compile(r"(?:^|\r)import time:\s+\d+ \|\s+(\d+) \| (?=\S)", re.MULTILINE)
# snakemake.benchmark takes BENCHMARK_INTERVAL samples BENCHMARK_INTERVAL_SHORT s apart, then
# one every BENCHMARK_INTERVAL s: a job's cpu_time is up to date only if it ran no longer.
SAMPLED_S = BENCHMARK_INTERVAL * BENCHMARK_INTERVAL_SHORT


def stages(workdir: Path) -> list[str]:
    import yaml

    return list(yaml.safe_load((workdir / "dvc.yaml").read_text())["stages"])  # DAG order


def build_env(workdir: Path) -> dict[str, str]:
    """The environment of a build of `workdir`: its own src/ ahead of the installed
    modality_rl (an editable install points at this checkout, whose library would
    otherwise run an earlier commit's rules and scripts) and of any PYTHONPATH already
    set, checked with the `python` its jobs run, and import profiling."""
    path = os.pathsep.join(p for p in (str(workdir / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONPROFILEIMPORTTIME": "1"}
    found = subprocess.run(["python", "-c", "import modality_rl; print(modality_rl.__file__)"],
                           cwd=workdir, env={**env, "PYTHONPROFILEIMPORTTIME": ""},
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(workdir.resolve()):
        raise SystemExit(f"{workdir}: modality_rl imports from {found}, not from this "
                         "build's src/: its numbers would be another commit's library")
    return env


def run_stages(workdir: Path, cores: int) -> dict:
    """{"seconds": {stage: wall}, "jobs": {stage: count}} of one full build."""
    seconds, jobs, env = {}, {}, build_env(workdir)
    for stage in stages(workdir):
        start = time.perf_counter()
        result = subprocess.run(["snakemake", f"{stage}_stage", "--cores", str(cores),
                                 "--configfile", "presets/quick.yaml"],
                                cwd=workdir, capture_output=True, text=True, env=env)
        seconds[stage] = round(time.perf_counter() - start, 1)
        if result.returncode != 0:
            raise SystemExit(f"{workdir}: stage {stage} failed:\n{result.stderr[-3000:]}")
        done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", result.stderr)
        jobs[stage] = int(done[-1][1]) - 1 if done else 0  # less the <stage>_stage target
        print(f"{workdir}: {stage}: {seconds[stage]} s, {jobs[stage]} jobs", flush=True)
    seconds["total"] = round(sum(seconds.values()), 1)
    return {"seconds": seconds, "jobs": jobs}


def job_kind(benchmark: Path, root: Path) -> str:
    """results/benchmarks/<stage>/<kind>/... -> <stage>/<kind>; a job file right in its
    stage's folder (a figure, a gathered table) -> <stage>/*; train, probe and pretrain
    jobs (one kind per stage) -> <stage>; claims.tsv -> claims."""
    parts = benchmark.relative_to(root).parts
    if parts[0] in ("train", "probe", "pretrain"):
        return parts[0]
    if len(parts) == 1:
        return Path(parts[0]).stem
    return f"{parts[0]}/*" if len(parts) == 2 else "/".join(parts[:2])


def import_seconds(log_text: str) -> float:
    """Seconds a job's Python processes spent importing: the sum of the top-level
    cumulative times PYTHONPROFILEIMPORTTIME wrote to its log."""
    return sum(int(us) for us in TOP_LEVEL_IMPORT.findall(log_text)) / 1e6


def job_seconds(workdir: Path) -> dict:
    """{kind: {"jobs", "s", "imports", "cpu_time", "waiting", "long_jobs"}} summed over the
    build's benchmarks and the logs beside them (results/logs/<job>.log); cpu_time and
    waiting over the jobs of at most SAMPLED_S seconds, long_jobs counting the others."""
    root = workdir / "results" / "benchmarks"
    keys = ("jobs", "s", "imports", "cpu_time", "waiting", "long_jobs")
    kinds = defaultdict(lambda: dict.fromkeys(keys, 0.0))
    for path in root.rglob("*.tsv"):
        (row,) = csv.DictReader(path.open(), delimiter="\t")
        log = workdir / "results" / "logs" / path.relative_to(root).with_suffix(".log")
        kind, s = kinds[job_kind(path, root)], float(row["s"])
        kind["jobs"] += 1
        kind["s"] += s
        kind["imports"] += import_seconds(log.read_text(errors="replace"))
        if s > SAMPLED_S:
            kind["long_jobs"] += 1
        else:
            kind["cpu_time"] += float(row["cpu_time"])
            kind["waiting"] += s - float(row["cpu_time"])
    kinds["total"] = {key: sum(kind[key] for kind in kinds.values()) for key in keys}
    return {name: {key: int(value) if key in ("jobs", "long_jobs") else round(value, 1)
                   for key, value in kind.items()}
            for name, kind in sorted(kinds.items(), key=lambda item: -item[1]["s"])}


def build(commit: str, parent: Path, cores: int) -> dict:
    workdir = parent / commit
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(workdir)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=workdir, check=True)
    return {"commit": commit, **run_stages(workdir, cores), "job_seconds": job_seconds(workdir)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--before", metavar="COMMIT",
                        help="also build this earlier commit, first, and print the ratios")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    args = parser.parse_args()
    parent = args.workdir or Path(tempfile.mkdtemp(prefix="quick_preset_"))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout.strip()
    report = {"cores": args.cores, "workdir": str(parent)}
    if args.before:
        report["before"] = build(args.before, parent, args.cores)
    report["now"] = build(head, parent, args.cores)
    if args.before:
        before, now = report["before"], report["now"]
        report["ratios_before_over_now"] = {
            "wall": round(before["seconds"]["total"] / now["seconds"]["total"], 2),
            "job_seconds": round(before["job_seconds"]["total"]["s"]
                                 / now["job_seconds"]["total"]["s"], 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
