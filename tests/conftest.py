"""Shared fixtures: small D4RL-schema files, a copy of the workflow, and the quick preset
built once per session (helpers.py has the functions they use); and how the suite splits
over pytest-xdist's workers (pyproject.toml runs it with `-n auto --dist loadgroup`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

from helpers import QUICK, copy_workflow, d4rl_arrays, init_git_and_dvc_project, seed_inputs
from modality_rl.data.schema import write_d4rl_hdf5


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How xdist splits the suite: one group per test module, so that a module's fixtures
    (a local Slurm cluster, a build) are made once, in one worker, and one group of every
    module with a test reading quick_run, so that the quick preset (the suite's longest
    build) is built once. That group goes first, then the modules with slow tests, then
    the rest (xdist hands a worker its next group when it is nearly done with the last),
    so one worker builds the quick preset while the others run the rest of the suite."""
    def modules(wanted) -> set[str]:
        return {item.module.__name__ for item in items if wanted(item)}

    reads_quick_run = modules(lambda item: "quick_run" in item.fixturenames)
    slow = modules(lambda item: item.get_closest_marker("slow") is not None)
    for item in items:
        module = item.module.__name__
        item.add_marker(pytest.mark.xdist_group("quick_run" if module in reads_quick_run
                                                else module))
    items.sort(key=lambda item: (item.module.__name__ not in reads_quick_run,
                                 item.module.__name__ not in slow))  # stable within


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


def build_quick_data(root: Path) -> None:
    copy_workflow(root)
    result = subprocess.run(["snakemake", "data_stage", "pretrain_stage", *QUICK], cwd=root,
                            capture_output=True, text=True, timeout=2700)
    (root / "snakemake.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (root / "built").touch()


@pytest.fixture(scope="session")
def quick_data(tmp_path_factory) -> Path:
    """The quick preset's data and pre-training stages (synthetic datasets from SAC
    behaviour policies, the tiny pre-trained bodies), built once per session by Snakemake;
    every test that needs those inputs copies them (helpers.seed_inputs) instead of
    training the behaviour policies again. Under xdist the first worker to need it builds
    it in the session's directory, which all workers share, while the others wait."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        root = tmp_path_factory.mktemp("quick_data")
        build_quick_data(root)
        return root
    root = tmp_path_factory.getbasetemp().parent / "quick_data"  # this session's, shared
    with FileLock(f"{root}.lock"):
        if root.exists() and not (root / "built").exists():
            pytest.fail(f"quick_data's build failed in another worker: {root}/snakemake.log",
                        pytrace=False)
        if not root.exists():
            build_quick_data(root)
    return root


@pytest.fixture(scope="session")
def quick_run(quick_data, tmp_path_factory) -> Path:
    """The whole quick preset built once per session by `dvc repro` (which runs Snakemake
    stage by stage) in a fresh git + DVC project, on quick_data's inputs (so its data and
    pretrain stages run and find their outputs made); end-to-end, DVC and Slurm tests read
    it. Under xdist, a second worker building it fails: its tests left their group."""
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        try:  # "x": only one worker of the session creates the file
            with open(tmp_path_factory.getbasetemp().parent / "quick_run.worker", "x") as f:
                f.write(worker)
        except FileExistsError:
            pytest.fail(f"quick_run is built a second time (by {worker}): every test reading "
                        "it must be in the xdist group quick_run (conftest.py)", pytrace=False)
    root = init_git_and_dvc_project(copy_workflow(tmp_path_factory.mktemp("quick")),
                                    "presets/quick.yaml")
    seed_inputs(quick_data, root)
    # Under xdist the build shares the cores with the other workers' tests.
    result = subprocess.run(["dvc", "repro"], cwd=root, capture_output=True, text=True,
                            timeout=3600)
    (root / "dvc_repro.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return root
