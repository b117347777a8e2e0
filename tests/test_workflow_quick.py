"""End to end: the quick preset's data stage through Snakemake, in real MuJoCo."""

import json

import h5py
import numpy as np
import pytest

from conftest import copy_workflow, run_snakemake
from modality_rl.data.schema import verify_d4rl_file
from modality_rl.data.trajectories import mean_episode_return

pytestmark = pytest.mark.slow
ENVS = ("hopper", "halfcheetah", "walker2d")
QUICK = ("--cores", "2", "--configfile", "presets/quick.yaml")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    root = copy_workflow(tmp_path_factory.mktemp("quick"))
    result = run_snakemake(root, *QUICK, timeout=1800)
    assert result.returncode == 0, result.stderr[-4000:]
    return root


def test_every_dataset_is_verified_d4rl(quick_run):
    for env in ENVS:
        for dataset in ("medium", "random", "expert"):
            path = quick_run / f"results/data/synthetic/{env}_{dataset}-v2.hdf5"
            assert verify_d4rl_file(path, env) > 0


def test_medium_is_clearly_better_than_random(quick_run):
    for env in ENVS:
        refs = json.loads((quick_run / f"results/data/synthetic/{env}_reference_returns.json")
                          .read_text())
        medium = mean_episode_return(quick_run / f"results/data/synthetic/{env}_medium-v2.hdf5")
        spread = refs["paper_expert"] - refs["paper_random"]
        assert spread > 0, env
        # Medium-like: at least a fifth of the way from random to the best policy.
        assert medium > refs["paper_random"] + 0.2 * spread, (env, medium, refs)


def test_probe_batches_have_the_configured_shape(quick_run):
    for env, obs_dim in zip(ENVS, (11, 17, 17)):
        with h5py.File(quick_run / f"results/data/synthetic/{env}_medium_probe.hdf5") as f:
            assert f["states"].shape == (100, 20, obs_dim)
            assert np.isfinite(f["states"][()]).all()


def test_every_job_wrote_its_log_and_benchmark(quick_run):
    logs = list((quick_run / "results/logs").rglob("*.log"))
    benchmarks = list((quick_run / "results/benchmarks").rglob("*.tsv"))
    assert len(logs) == len(benchmarks) == 18  # 3 policies, 9 datasets, 3 refs, 3 probes


def test_second_run_has_nothing_to_do(quick_run):
    result = run_snakemake(quick_run, *QUICK, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr
