"""Minari as a data source: datasets written by Minari's own writer from real MuJoCo v5
rollouts, loaded from a local MINARI_DATASETS_PATH and downloaded through a loopback Hub
in the layout Minari's upload writes, converted to the D4RL v2 layout, and (slow) a
quick-preset run on them whose tables, Table 1 and claims say they are not the paper's.

Minari's DataCollector needs jax (minari[create]); its writer of whole episodes,
create_dataset_from_buffers, does not, so the datasets here are written with that."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

from helpers import QUICK, REPO, LoopbackHub, copy_workflow, run_snakemake
from modality_rl.data.trajectories import load_trajectories

WRITER = """
import sys
import gymnasium as gym
import minari
import numpy as np
from minari.data_collector import EpisodeBuffer

env_name, dataset, steps, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
env = gym.make({"hopper": "Hopper-v5", "halfcheetah": "HalfCheetah-v5",
                "walker2d": "Walker2d-v5"}[env_name], max_episode_steps=200)
env.action_space.seed(seed)
buffers, total, episode = [], 0, 0
while total < steps:
    obs, _ = env.reset(seed=seed + episode)
    observations, actions, rewards, terminations, truncations = [obs], [], [], [], []
    while True:
        action = env.action_space.sample() * (0.3 if dataset == "medium" else 1.0)
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs); actions.append(action); rewards.append(reward)
        terminations.append(terminated); truncations.append(truncated)
        if terminated or truncated:
            break
    buffers.append(EpisodeBuffer(id=episode, observations=np.array(observations),
                                 actions=np.array(actions), rewards=np.array(rewards),
                                 terminations=np.array(terminations),
                                 truncations=np.array(truncations), infos={}))
    total += len(actions)
    episode += 1
minari.create_dataset_from_buffers(
    f"mujoco/{env_name}/{dataset}-v0", buffers, env=env, algorithm_name="random actions",
    author="tests", author_email="tests@localhost", code_permalink="https://localhost",
    ref_min_score=-20.0, ref_max_score=3200.0)
"""


def write_minari_dataset(root: Path, env: str, dataset: str, steps: int = 600,
                         seed: int = 0) -> None:
    """A Minari dataset of real Hopper-v5 (or other) rollouts under `root`."""
    subprocess.run([sys.executable, "-c", WRITER, env, dataset, str(steps), str(seed)],
                   env={**os.environ, "MINARI_DATASETS_PATH": str(root)}, check=True,
                   capture_output=True, timeout=300)


def hub_layout(local: Path, repo: Path) -> Path:
    """The Hub repository farama-minari/mujoco as Minari's upload leaves it: the datasets'
    folders, and the namespace metadata registering the datasets and namespaces."""
    shutil.copytree(local / "mujoco", repo)
    datasets = sorted(f"mujoco/{p.parent.parent.relative_to(repo).as_posix()}"
                      for p in repo.rglob("data/metadata.json"))
    metadata = json.loads((repo / "namespace_metadata.json").read_text())
    metadata |= {"datasets": datasets,
                 "namespaces": sorted({d.rsplit("/", 1)[0] for d in datasets})}
    (repo / "namespace_metadata.json").write_text(json.dumps(metadata))
    return repo


FETCH = """
import sys
from modality_rl.data.minari_source import MinariSource, fetch_minari_dataset
source = MinariSource(id="mujoco/{env}/{dataset}-v0", datasets=("medium", "expert"),
                      download=sys.argv[1] == "download")
print(fetch_minari_dataset(source, "hopper", "medium", sys.argv[2]))
"""


def fetch(target: Path, root: Path, download: bool, **env: str):
    return subprocess.run(
        [sys.executable, "-c", FETCH, "download" if download else "local", str(target)],
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "MINARI_DATASETS_PATH": str(root),
             "HF_HUB_DISABLE_PROGRESS_BARS": "1", **env},
        capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def minari_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("minari")
    write_minari_dataset(root, "hopper", "medium")
    return root


def test_a_local_minari_dataset_becomes_a_labelled_d4rl_file(minari_root, tmp_path):
    target = tmp_path / "hopper_medium-v2.hdf5"
    result = fetch(target, minari_root, download=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with h5py.File(target) as f:
        attrs = dict(f.attrs)
        n = len(f["rewards"])
    assert int(result.stdout.split()[-1]) == n >= 600
    assert attrs["gym_id"] == "Hopper-v5" and attrs["minari_id"] == "mujoco/hopper/medium-v0"
    assert attrs["ref_min_score"] == -20.0 and attrs["ref_max_score"] == 3200.0
    assert "NOT the paper's data" in attrs["note"]
    trajectories = load_trajectories(target)
    assert sum(len(t.rewards) for t in trajectories) == n and len(trajectories) > 5
    assert "NOT the paper's data" in result.stderr  # the job's log says so


def test_a_minari_dataset_downloads_through_the_hub(minari_root, tmp_path):
    repo = hub_layout(minari_root, tmp_path / "repo")
    with LoopbackHub({"farama-minari/mujoco": repo}) as hub:
        result = fetch(tmp_path / "out.hdf5", tmp_path / "empty", download=True,
                       HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert any(path.endswith("hopper/medium-v0/data/main_data.hdf5") for _, path in hub.requests)
    with h5py.File(tmp_path / "out.hdf5") as f, h5py.File(minari_root / "mujoco/hopper/"
                                                            "medium-v0/data/main_data.hdf5") as g:
        assert len(f["rewards"]) == sum(len(g[e]["rewards"]) for e in g)


def test_an_unavailable_minari_dataset_names_where_it_looked(tmp_path):
    result = fetch(tmp_path / "out.hdf5", tmp_path / "empty", download=False)
    assert result.returncode != 0
    assert "MinariUnavailableError" in result.stderr
    assert f"not in {tmp_path / 'empty'} (MINARI_DATASETS_PATH)" in result.stderr
    assert "data.minari.download is false" in result.stderr
    assert not (tmp_path / "out.hdf5").exists() and not list(tmp_path.glob(".*tmp*"))


def minari_preset(project: Path) -> str:
    (project / "minari.yaml").write_text(yaml.safe_dump({
        "envs": ["hopper"], "seeds": [666], "datasets": ["medium"],
        "data": {"source": "minari", "minari": {"download": False}}}))
    return "minari.yaml"


def test_a_minari_configuration_plans_minari_jobs_and_no_random_set(workflow_copy):
    configfile = minari_preset(workflow_copy)
    result = run_snakemake(workflow_copy, "-n", *QUICK, configfile)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "fetch_minari_dataset" in output and "synthesize_dataset" not in output
    assert "results/data/minari/hopper_random-v2.hdf5" not in output
    assert '"data": "minari: Minari' in output  # a column of every table


@pytest.mark.slow
def test_the_quick_preset_on_minari_data_says_it_is_not_the_papers(tmp_path):
    """Table 1 of the quick preset on Minari's data (the claims' note: test_claims.py)."""
    root = tmp_path / "minari"
    for dataset, seed in (("medium", 0), ("expert", 1)):
        write_minari_dataset(root, "hopper", dataset, steps=1500, seed=seed)
    project = copy_workflow(tmp_path / "project")
    configfile = minari_preset(project)
    table1 = "results/paper_tables/table1.md"
    result = subprocess.run(["snakemake", table1, *QUICK, configfile],
                            cwd=project, capture_output=True, text=True,
                            timeout=2400, env={**os.environ, "MINARI_DATASETS_PATH": str(root)})
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "NOT the paper's data" in (project / table1).read_text()
    refs = json.loads((project / "results/data/minari/hopper_reference_returns.json").read_text())
    assert "paper" in refs["missing"] and refs["d4rl_random"] == -20.0
    assert refs["d4rl_scores"].startswith("Minari mujoco/hopper/expert-v0")
    curves = (project / "results/tables/learning_curves/main/hopper-medium_seed666.csv")
    assert "NOT the paper's data" in curves.read_text().splitlines()[1]
    log = (project / "results/logs/train/main/gpt2/hopper-medium/seed666.log").read_text()
    assert "evaluating in Hopper-v5" in log
