"""Training through a real Slurm: profiles/slurm on a one-node cluster on localhost.

tests/slurm/start_local_slurm.sh installs slurm-wlm and munge (apt-get, once) and starts
munged, slurmctld and slurmd; a copy of the workflow that reuses the data and the
pre-trained backbones of `quick_data` then submits two of the quick preset's training runs
(main/hopper-medium/seed666, random and gpt2 bodies) with sbatch, through Snakemake's
SLURM executor plugin and profiles/slurm. The runs must be the local run's, byte for
byte (metrics.csv) and tensor for tensor (checkpoints): CPU training with the same seed
is deterministic.

The test cluster has no GPU gres, so the jobs run from a copy of profiles/slurm with
`gpu: 0` on the GPU rules; every other value (partition, runtime) is the profile's, and
the memory the training rule declares for the quick preset's shapes
(modality_rl.budgets) reaches sbatch as --mem. test_gpu_rules_ask_slurm_for_a_gpu checks
with the unmodified profile that sbatch is asked for the GPU. If Slurm cannot be
installed or started, the tests fail with the start script's reason; they are never
skipped. Only test_profile_covers_every_rule is fast (no Slurm).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import (
    REPO,
    copy_workflow,
    load_config,
    run_snakemake,
    same_checkpoints,
    seed_inputs,
    workflow_rules,
)
from modality_rl.budgets import train_mb
from modality_rl.runs import Run

SLURM_SCRIPTS = REPO / "tests" / "slurm"
JOBCOMP_LOG = Path(os.environ.get("SLURM_TEST_LOGDIR", "/var/log/slurm")) / "jobcomp.log"
# Two runs: the node has 2 CPUs, so both jobs run at once (one pre-trained body).
MODELS = ("random", "gpt2")
RUN_DIRS = [f"results/runs/main/{model}/hopper-medium/seed666" for model in MODELS]
TARGETS = [f"{run_dir}/metrics.csv" for run_dir in RUN_DIRS]
PROFILE = "profiles/slurm"
CPU_TEST_PROFILE = "profiles/slurm-cpu-test"
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.$",
                       re.MULTILINE)



def test_profile_covers_every_rule():
    """Each job rule gets a partition, memory and time; each GPU rule asks for its GPU. A
    rule whose memory follows the configured shapes keeps it: no mem_mb here replaces it."""
    resources = yaml.safe_load((REPO / PROFILE / "config.yaml").read_text())["set-resources"]
    rules = {name: rule for name, rule in workflow_rules().items() if rule["runs"]}
    assert {"train_run", "probe_run", "fetch_d4rl_dataset", "cka_tables"} <= rules.keys()
    assert sorted(rules) == sorted(resources)
    for name, rule in rules.items():
        assert {"slurm_partition", "runtime"} <= resources[name].keys(), name
        assert ("mem_mb" in resources[name]) != rule["shaped_memory"], name
        assert resources[name].get("gpu", 0) == rule["gpu"], name
    assert {"train_run", "probe_run", "mutual_information_tables"} <= {
        name for name, rule in rules.items() if rule["shaped_memory"]}


def as_root(script: str) -> list[str]:
    command = ["bash", str(SLURM_SCRIPTS / script)]
    if os.geteuid() != 0 and shutil.which("sudo"):
        return ["sudo", "-n", *command]
    return command  # not root and no sudo: the script fails and says so


@pytest.fixture(scope="module")
def local_slurm():
    started = subprocess.run(as_root("start_local_slurm.sh"), capture_output=True, text=True,
                             timeout=900)
    if started.returncode != 0:
        pytest.fail("the local Slurm cluster did not start (tests/slurm/start_local_slurm.sh "
                    f"exited {started.returncode}):\n{started.stdout}{started.stderr}",
                    pytrace=False)
    print(started.stdout)  # install and start times, shown with `pytest -s` or -rP
    yield started.stdout
    subprocess.run(as_root("stop_local_slurm.sh"), capture_output=True, text=True, timeout=120)


def node_memory_mb() -> int:
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%m"], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[0])


def write_cpu_test_profile(root: Path) -> dict:
    """profiles/slurm for the CPU-only test cluster; returns the profile written.

    Changed: `gpu: 0` (and no gres/gpu_model) on the GPU rules, since the cluster has
    no GPU gres; mem_mb capped at a third of the node, so the training jobs can
    never be refused on a small CI machine (no cap on nodes of 24 GB or more). Added:
    the executor settings a cluster without an accounting database needs (job states
    from squeue; sacct answers "Slurm accounting storage is disabled"), a first status
    check after 2 s instead of 40 s, and the Slurm logs of successful jobs kept for the
    asserts. Everything else is profiles/slurm as it is.
    """
    profile = yaml.safe_load((root / PROFILE / "config.yaml").read_text())
    memory_cap = node_memory_mb() // len(MODELS)
    for resources in profile["set-resources"].values():
        if resources.get("gpu") or "gres" in resources:
            resources["gpu"] = 0
            resources.pop("gres", None)
            resources.pop("gpu_model", None)
        if "mem_mb" in resources:
            resources["mem_mb"] = min(resources["mem_mb"], memory_cap)
    profile.update({
        "slurm-status-command": "squeue",
        "slurm-init-seconds-before-status-checks": 2,
        "slurm-keep-successful-logs": True,
    })
    path = root / CPU_TEST_PROFILE / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return profile


@pytest.fixture(scope="module")
def slurm_run(quick_data, local_slurm, tmp_path_factory):
    """The training runs, submitted through Slurm: (workflow copy, profile, log)."""
    root = seed_inputs(quick_data,
                       copy_workflow(tmp_path_factory.mktemp("slurm") / "workflow"))
    profile = write_cpu_test_profile(root)
    result = run_snakemake(root, *TARGETS, "--profile", CPU_TEST_PROFILE,
                           "--configfile", "presets/quick.yaml", timeout=600)
    assert result.returncode == 0, result.stderr[-6000:]
    return root, profile, result.stderr


def declared_train_mb(model: str) -> int:
    """The mem_mb train_run declares for the quick preset's main/hopper/666 run of `model`."""
    run = Run(experiment="main", model=model, env="hopper", dataset="medium", seed=666)
    return train_mb(load_config("presets/quick.yaml"), run)


def completed_jobs(job_name: str) -> dict[str, dict[str, str]]:
    """{job id: its fields} of the jobs named `job_name` in slurmctld's job completion
    log (jobcomp/filetxt). The name tells them from jobs of earlier runs, whose ids a
    restarted test cluster hands out again."""
    jobs = {}
    for line in JOBCOMP_LOG.read_text().splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("Name") == job_name:
            jobs[fields["JobId"]] = fields
    return jobs


def minutes(time_limit: str) -> int:
    """A Slurm time limit ("1440", "1-00:00:00", "02:00:00") in minutes."""
    if time_limit.isdigit():
        return int(time_limit)
    days, _, clock = time_limit.rpartition("-")
    hours, mins, _ = (int(part) for part in clock.split(":"))
    return int(days or 0) * 1440 + hours * 60 + mins


@pytest.mark.slow
def test_training_jobs_ran_as_slurm_jobs(slurm_run):
    root, profile, log = slurm_run
    # Only the training jobs ran: data and backbones were reused.
    assert re.search(rf"^train_run\s+{len(MODELS)}$", log, re.MULTILINE), log[-3000:]
    assert re.search(rf"^total\s+{len(MODELS)}$", log, re.MULTILINE), log[-3000:]
    submitted = SUBMITTED.findall(log)
    assert len(submitted) == len(MODELS), log[-3000:]
    run_id = re.search(r"^SLURM run ID: (\S+)$", log, re.MULTILINE)[1]

    train = profile["set-resources"]["train_run"]
    jobs = completed_jobs(run_id)
    for job_id, slurm_log in submitted:
        job = jobs.get(job_id)
        assert job is not None, f"Slurm job {job_id} ({run_id}) is not in {JOBCOMP_LOG}"
        assert job["JobState"] == "COMPLETED", job
        assert job["WorkDir"] == str(root)
        # The profile's values reached sbatch: partition, --time, --mem, --cpus-per-task.
        assert job["Partition"] == train["slurm_partition"], job
        assert minutes(job["TimeLimit"]) == train["runtime"], job
        tres = dict(item.split("=", 1) for item in job["Tres"].split(","))
        model = Path(slurm_log).parent.name.split("_")[1]
        assert tres["mem"] == f"{declared_train_mb(model)}M", job
        assert tres["cpu"] == "1", job
        # The job's own log (kept by --slurm-keep-successful-logs): Snakemake ran the
        # rule inside the allocation.
        assert Path(slurm_log).is_file(), slurm_log
        assert "rule train_run:" in Path(slurm_log).read_text()
    assert sorted(Path(path).parent.name for _, path in submitted) == sorted(
        f"main_{model}_hopper_medium_666" for model in MODELS)


@pytest.mark.slow
def test_metrics_equal_the_local_run(slurm_run, quick_run):
    root, _, _ = slurm_run
    for run_dir in RUN_DIRS:
        local = (quick_run / run_dir / "metrics.csv").read_bytes()
        assert (root / run_dir / "metrics.csv").read_bytes() == local, run_dir


@pytest.mark.slow
def test_checkpoints_equal_the_local_run(slurm_run, quick_run):
    root, _, _ = slurm_run
    for run_dir in RUN_DIRS:
        assert same_checkpoints(quick_run / run_dir / "checkpoints",
                                root / run_dir / "checkpoints"), run_dir


@pytest.mark.slow
def test_gpu_rules_ask_slurm_for_a_gpu(local_slurm, quick_data, tmp_path):
    """The unmodified profile asks sbatch for one GPU, which this CPU cluster refuses."""
    root = seed_inputs(quick_data, copy_workflow(tmp_path / "workflow"))
    train = yaml.safe_load((root / PROFILE / "config.yaml").read_text())["set-resources"][
        "train_run"]
    result = run_snakemake(root, TARGETS[0], "--profile", PROFILE,
                           "--slurm-init-seconds-before-status-checks", "1",
                           "--configfile", "presets/quick.yaml", timeout=300)
    assert result.returncode != 0, result.stderr[-3000:]
    log = result.stderr
    assert "sbatch: error: Invalid generic resource (gres) specification" in log, log[-3000:]
    call = re.search(r"^\s*sbatch --parsable .*$", log, re.MULTILINE)
    assert call, log[-3000:]
    options = " " + " ".join(call[0].split(" --wrap=")[0].split()) + " "
    for expected in (f"-p {train['slurm_partition']}", f"-t {train['runtime']}",
                     f"--mem {declared_train_mb(MODELS[0])}", "--gpus=1"):
        assert f" {expected} " in options, (expected, options)
    assert not SUBMITTED.search(log)
