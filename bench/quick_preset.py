"""Wall time of the whole quick preset on this machine, stage by stage.

    python bench/quick_preset.py --cores 2

Clones the committed workflow into a fresh directory (nothing cached is reused) and runs
`snakemake <stage>_stage --cores N --configfile presets/quick.yaml` for the stages of
dvc.yaml in order, timing each; prints the times and the job count of every stage.
"""

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = list(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])  # in DAG order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="quick_preset_")) / "workflow"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(workdir)], check=True)
    timings, jobs = {}, {}
    for stage in STAGES:
        start = time.perf_counter()
        result = subprocess.run(
            ["snakemake", f"{stage}_stage", "--cores", str(args.cores),
             "--configfile", "presets/quick.yaml"],
            cwd=workdir, capture_output=True, text=True)
        timings[stage] = round(time.perf_counter() - start, 1)
        if result.returncode != 0:
            raise SystemExit(f"stage {stage} failed:\n{result.stderr[-3000:]}")
        done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", result.stderr)
        jobs[stage] = int(done[-1][1]) - 1 if done else 0  # less the <stage>_stage target
        print(f"{stage}: {timings[stage]} s, {jobs[stage]} jobs", flush=True)
    timings["total"] = round(sum(timings.values()), 1)
    print(json.dumps({"cores": args.cores, "workdir": str(workdir), "seconds": timings,
                      "jobs": jobs}, indent=2))


if __name__ == "__main__":
    main()
