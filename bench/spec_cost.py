"""What checking a job spec costs a job: the spec module's import and `load_spec` of the
largest spec config.yaml plans (a training run's), each in a fresh process, side by side
with the hand-written checker the spec module had at --before.

    python bench/spec_cost.py
    python bench/spec_cost.py --repeats 15

Prints the median over --repeats fresh processes of each variant's import and load.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# One process: import the spec module (today's, or --before's loaded from git), then load
# the spec into train_run.py's job dataclass. Prints the two times in seconds.
# (The old module's text is read from git before the clock starts; _model.module_at would
# import torch.)
PROBE = """
import subprocess, sys, time, types
sys.path.insert(0, {scripts!r})
if {before!r}:
    source = subprocess.run(["git", "show", {before!r} + ":src/modality_rl/spec.py"],
                            capture_output=True, text=True, check=True).stdout
    module = sys.modules["spec_before"] = types.ModuleType("spec_before")
t0 = time.perf_counter()
if {before!r}:
    exec(compile(source, "spec_before", "exec"), module.__dict__)
    load_spec = module.load_spec
else:
    from modality_rl.spec import load_spec
t1 = time.perf_counter()
from train_run import TrainJob
t2 = time.perf_counter()
load_spec(TrainJob, {spec!r})
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""


def train_spec() -> str:
    """The spec of config.yaml's first planned training job, from a dry run."""
    dry = subprocess.run(["snakemake", "-n", "--cores", "1"], cwd=REPO, capture_output=True,
                         text=True, check=True)
    command = next(line for line in (dry.stdout + dry.stderr).splitlines()
                   if line.startswith("Shell command: python scripts/train_run.py"))
    spec = command.split(" '", 1)[1].rsplit("' ", 1)[0]
    json.loads(spec)
    return spec


def timed(before: str, spec: str) -> tuple[float, float]:
    code = PROBE.format(scripts=str(REPO / "scripts"), before=before, spec=spec)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="437cdbd",
                        help="commit whose spec module (hand-written checks) to compare")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    spec = train_spec()
    times = {"before": [], "pydantic": []}
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        times["before"].append(timed(args.before, spec))
        times["pydantic"].append(timed("", spec))
    for name, runs in times.items():
        imports, loads = (1e3 * statistics.median(column) for column in zip(*runs))
        print(f"{name:9s} import {imports:6.1f} ms   load_spec {loads:6.1f} ms   "
              f"({len(spec)} characters of spec)")


if __name__ == "__main__":
    main()
