"""The benchmark scripts still start: each builds its options (some from config.yaml's
keys) and prints its help. They are run by hand, so nothing else notices a renamed key.
The GPU check and the comparison with the released code are also rehearsed at tiny
shapes, and their reports checked entry by entry (no time is asserted)."""

import json
import math
import os
import subprocess
import sys

import pytest

from helpers import REPO

SCRIPTS = sorted(p.name for p in (REPO / "bench").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_prints_its_help(script):
    result = subprocess.run([sys.executable, f"bench/{script}", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage:" in result.stdout, result.stderr[-2000:]


def run_bench(script: str, *flags: str, timeout: int = 600) -> subprocess.CompletedProcess:
    # One torch thread: tiny models on two threads of shared cores ran 4x slower.
    result = subprocess.run([sys.executable, f"bench/{script}", *flags], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def positive(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_gpu_check_rehearses_on_cpu(tmp_path):
    """bench/gpu_check.py at tiny shapes and counts: every phase reports every entry it
    was asked for, and the projection of config.yaml covers its runs and is finite."""
    report_path = tmp_path / "report.json"
    run_bench("gpu_check.py", "--device", "cpu", "--tiny", "--steps", "2", "--warmup", "1",
              "--episodes", "1", "--max-steps", "3", "--no-compile", "--workers", "0",
              "--probe-batch", "4", "--probe-samples", "2", "--trajectories", "20",
              "--dataset-steps", "2000", "--json", str(report_path))
    report = json.loads(report_path.read_text())
    bodies, ks, precisions = ("random", "gpt2", "igpt"), ("20", "1"), ("fp32", "tf32", "bf16")
    train = report["training"]["ms_per_step"]
    assert {(b, k, p): positive(train[b][k][p]["off"]) for b in bodies for k in ks
            for p in precisions} == {(b, k, p): True for b in bodies for k in ks
                                      for p in precisions}
    evaluation = report["evaluation"]["ms_per_step"]["hopper"]
    assert all(positive(evaluation[k]["0"][b]["tf32"]) for k in ks for b in bodies)
    assert report["evaluation"]["build_s"]["hopper"]["0"] > 0
    probe = report["probe"]
    assert positive(probe["all_sections_s"]) and positive(probe["no_gradients_s"])
    assert probe["norm_samples"] == probe["cosine_samples"] == 2
    projection = report["projection"]
    assert projection["configured"]["runs"] == projection["runs"] == 105
    assert projection["probes"]["dumps"] > projection["probes"]["with_gradient_probe"] > 0
    assert positive(projection["configured"]["hours"]) and positive(projection["total_hours"])


def test_peer_measures_our_side_without_the_released_code(tmp_path):
    """bench/peer.py without --released: our training and evaluation rates, no ratios
    (the released side needs its checkout: bench/README.md, "Against the released code")."""
    report_path = tmp_path / "report.json"
    run_bench("peer.py", "--shape", "tiny", "--steps", "2", "--rounds", "1", "--warmup", "0",
              "--episodes", "1", "--max-steps", "5", "--trajectories", "20",
              "--dataset-steps", "2000", "--json", str(report_path))
    report = json.loads(report_path.read_text())
    assert set(report["training"]) == set(report["evaluation"]) == {"ours"}
    assert report["training"]["ours"]["steps"] == 2
    assert positive(report["training"]["ours"]["steps_per_s"])
    ours = report["evaluation"]["ours"]
    assert positive(ours["env_steps_per_s"]) and 2 <= ours["env_steps"] <= 10
    assert report["ratios_ours_over_released"] == {}


def test_mine_before_compares_a_commits_code_with_todays():
    """bench/mine.py --before: the module at a commit (here HEAD) against today's, on the
    same pairs; the script itself refuses estimates that differ."""
    result = run_bench("mine.py", "--before", "HEAD", "--estimators", "6", "--width", "8",
                       "--hidden", "8", "--iterations", "2", "--rounds", "1")
    report = json.loads(result.stdout)
    assert report["identical"] and set(report["median"]) == {"before", "now"}
    assert all(positive(seconds) for seconds in report["median"].values())


SHIMS_CHECK = """
import sys
sys.path.insert(0, "bench")
import numpy as np
import peer
alias = peer.install_shims(seed=3, episodes=2, max_steps=4)
import gym
from transformers.modeling_utils import Conv1D
from transformers.utils.model_parallel_utils import get_device_map
import kmeans_pytorch, torch_semiring_einsum
assert gym is alias
env = gym.make("Hopper-v3")
assert env.env.spec.id == "Hopper-v4"
first, second, third = env.reset(), None, None
for t in range(10):
    observation, reward, done, info = env.step(env.action_space.sample())
    if done:
        break
assert t == 3 and isinstance(reward, float), (t, reward)
second, third = env.reset(), env.reset()
assert np.array_equal(first, third) and not np.array_equal(first, second)
assert env.steps == 4 and env.lengths == [4, 0, 0]
print("shims ok")
"""


def test_peer_shims_give_the_released_code_its_old_apis():
    """The shims bench/peer.py installs before importing the released code: gym 0.18's
    API over Gymnasium's -v4 envs (seeded resets, 4-tuple steps, the episode limit) and
    the transformers 4 import paths."""
    result = subprocess.run([sys.executable, "-c", SHIMS_CHECK], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "shims ok" in result.stdout, result.stderr[-3000:]


def quick_preset():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import quick_preset
    finally:
        sys.path.remove(str(REPO / "bench"))
    return quick_preset


def test_quick_preset_counts_each_import_once():
    """quick_preset.import_seconds sums the top-level entries of Python's import profile
    (what a job's log holds when PYTHONPROFILEIMPORTTIME=1): a nested module's time is
    already in its importer's, and an entry after a progress bar's carriage return counts."""
    import_seconds = quick_preset().import_seconds
    profile = subprocess.run([sys.executable, "-c", "import email.mime.text"],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}).stderr
    entries = [line.split("|") for line in profile.splitlines()
               if line.startswith("import time:") and line.split("|")[1].strip().isdigit()]
    every_entry = sum(int(cumulative) for _, cumulative, _ in entries) / 1e6
    top_level = [e for e in entries if not e[2].startswith("  ")]
    assert any(e[2].strip() == "email.mime.text" for e in top_level)
    assert 0 < import_seconds(profile) < every_entry  # nested entries not added again
    assert import_seconds(profile) == sum(int(e[1]) for e in top_level) / 1e6
    assert import_seconds("epoch 1:  50%|#####\rimport time:  7 |   2500 | torch\n") == 0.0025


def test_quick_preset_sums_cpu_time_only_of_jobs_snakemake_sampled_to_their_end(tmp_path):
    """A job longer than quick_preset.SAMPLED_S (15 s) had its CPU time last sampled up to
    30 s before it ended: its wall seconds and imports count, its cpu_time does not."""
    bench = quick_preset()
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    jobs = {"train/main/random/hopper-medium/seed1": (10.0, 8.0),
            "train/main/random/hopper-medium/seed2": (bench.SAMPLED_S + 20, 14.0)}
    for job, (s, cpu_time) in jobs.items():
        for folder, suffix, text in (
                ("benchmarks", ".tsv", f"{header}{s}\t0:00:10\t1\t1\t1\t1\t0\t0\t50\t{cpu_time}\n"),
                ("logs", ".log", "import time:   10 |   500000 | torch\n")):
            path = tmp_path / "results" / folder / f"{job}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    train = bench.job_seconds(tmp_path)["train"]
    assert train == {"jobs": 2, "s": 10.0 + bench.SAMPLED_S + 20, "imports": 1.0,
                     "cpu_time": 8.0, "waiting": 2.0, "long_jobs": 1}


def test_quick_preset_builds_each_commit_with_its_own_library(tmp_path, monkeypatch):
    """A clone of an earlier commit must import its own src/modality_rl, not the
    installed one (an editable install of this checkout): else --before would time this
    commit's library under the earlier commit's rules. A PYTHONPATH already set stays,
    behind it. A build whose modality_rl would come from elsewhere stops before it runs."""
    bench = quick_preset()
    package = tmp_path / "clone" / "src" / "modality_rl"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "elsewhere"))
    env = bench.build_env(tmp_path / "clone")
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "clone" / "src"),
                                                   str(tmp_path / "elsewhere")]
    assert env["PYTHONPROFILEIMPORTTIME"] == "1"
    (tmp_path / "bare").mkdir()
    with pytest.raises(SystemExit, match="not from this build's src/"):
        bench.build_env(tmp_path / "bare")
