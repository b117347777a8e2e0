"""Shared fixtures: small D4RL-schema files, a copy of the workflow, and the quick preset
built once per session (helpers.py has the functions they use)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import QUICK, copy_workflow, d4rl_arrays, init_git_and_dvc_project, seed_inputs
from modality_rl.data.schema import write_d4rl_hdf5


@pytest.fixture
def make_d4rl_file(tmp_path):
    def make(name: str = "hopper_medium-v2.hdf5", env: str = "hopper",
             episode_lengths: tuple[int, ...] = (30, 50, 20), seed: int = 0) -> Path:
        path = tmp_path / name
        write_d4rl_hdf5(d4rl_arrays(env, list(episode_lengths), seed=seed), path, {"env": env})
        return path

    return make


@pytest.fixture
def workflow_copy(tmp_path) -> Path:
    return copy_workflow(tmp_path / "workflow")


@pytest.fixture(scope="session")
def quick_data(tmp_path_factory) -> Path:
    """The quick preset's data and pre-training stages (synthetic datasets from SAC
    behaviour policies, the tiny pre-trained bodies), built once per session by Snakemake;
    every test that needs those inputs copies them (helpers.seed_inputs) instead of
    training the behaviour policies again."""
    root = copy_workflow(tmp_path_factory.mktemp("quick_data"))
    result = subprocess.run(["snakemake", "data_stage", "pretrain_stage", *QUICK], cwd=root,
                            capture_output=True, text=True, timeout=1800)
    (root / "snakemake.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return root


@pytest.fixture(scope="session")
def quick_run(quick_data, tmp_path_factory) -> Path:
    """The whole quick preset built once per session by `dvc repro` (which runs Snakemake
    stage by stage) in a fresh git + DVC project, on quick_data's inputs (so its data and
    pretrain stages run and find their outputs made); end-to-end, DVC and Slurm tests read
    it."""
    root = init_git_and_dvc_project(copy_workflow(tmp_path_factory.mktemp("quick")),
                                    "presets/quick.yaml")
    seed_inputs(quick_data, root)
    result = subprocess.run(["dvc", "repro"], cwd=root, capture_output=True, text=True,
                            timeout=2400)
    (root / "dvc_repro.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return root
