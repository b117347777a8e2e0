"""contract: datasets. D4RL's names of every (env, dataset) pair, the dataset grid axis
as the workflow plans it, stitched and replay datasets, and the errors of bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from helpers import QUICK, d4rl_arrays, load_config, run_snakemake  # QUICK ends in --configfile
from modality_rl.configuration import dataset_problems
from modality_rl.data.datasets import D4RL_DATASETS, dataset_names
from modality_rl.data.schema import stitch
from modality_rl.data.sources import D4RLSources
from modality_rl.envs import ENV_SPECS

# D4RL's own spelling: underscores in file names, hyphens in dataset ids and the mirror.
SPELLING = {"random": "random", "medium": "medium", "medium-replay": "medium_replay",
            "medium-expert": "medium_expert", "expert": "expert",
            "full-replay": "full_replay"}


@pytest.mark.parametrize("env", sorted(ENV_SPECS))
@pytest.mark.parametrize("dataset", D4RL_DATASETS)
def test_every_env_and_dataset_has_d4rls_names(env, dataset):
    names = dataset_names(env, dataset)
    assert names.d4rl_file == f"{env}_{SPELLING[dataset]}-v2.hdf5"
    assert names.d4rl_id == names.mirror_folder == f"{env}-{dataset}-v2"
    sources = D4RLSources.from_config(load_config()["data"]["d4rl"])
    url = sources.url_of(env, dataset)
    assert url.endswith(f"/gym_mujoco_v2/{names.d4rl_file}")
    assert sources.hub.filename(env, dataset) == f"{names.mirror_folder}/train/0000.parquet"


def test_an_unknown_dataset_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'mediocre'; D4RL's locomotion "
                                         r"datasets are \['random', 'medium', 'medium-replay'"):
        dataset_names("hopper", "mediocre")


def test_stitching_cuts_the_first_at_its_last_episode_and_caps_the_whole():
    """D4RL's stitch_dataset.py: the first part up to its last terminal or timeout."""
    medium = d4rl_arrays("hopper", [3, 4], seed=0)
    medium["timeouts"][-1] = medium["terminals"][-1] = False  # the last episode cut short
    medium["timeouts"][2] = True
    expert = d4rl_arrays("hopper", [5], seed=1)
    stitched = stitch([medium, expert], max_transitions=7)
    assert len(stitched["rewards"]) == 7  # 3 of medium, then 4 of expert's 5 (the cap)
    np.testing.assert_array_equal(stitched["rewards"][:3], medium["rewards"][:3])
    np.testing.assert_array_equal(stitched["observations"][3:], expert["observations"][:4])


def dry_run(project, config: dict, *targets: str) -> str:
    (project / "grid.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(project, *targets, "-n", *QUICK, "grid.yaml", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def test_datasets_are_a_grid_axis_and_the_papers_files_keep_their_names(workflow_copy):
    output = dry_run(workflow_copy, {"envs": ["hopper"], "seeds": [666],
                                     "datasets": ["medium", "medium-replay", "medium-expert"]})
    assert "results/figures/fig01.pdf" in output  # medium: the paper's names
    assert "results/figures/medium-replay/fig01.pdf" in output
    assert "results/paper_tables/medium-expert/table1.md" in output
    assert "results/claims/medium-replay.md" in output and "results/claims.md" in output
    for dataset in ("medium", "medium-replay", "medium-expert"):
        assert f"results/runs/main/gpt2/hopper-{dataset}/seed666/metrics.csv" in output
        assert f"results/data/synthetic/hopper_{dataset}_probe.hdf5" in output
    assert "rule record_replay:" in output and "rule stitch_dataset:" in output
    stitched = re.search(r"rule stitch_dataset:\n    input: (.*)\n", output)[1]
    assert stitched == ("results/data/synthetic/hopper_medium-v2.hdf5, "
                        "results/data/synthetic/hopper_expert-v2.hdf5")


def test_the_old_dataset_key_says_to_use_datasets(workflow_copy):
    (workflow_copy / "old.yaml").write_text("dataset: expert\n")
    result = run_snakemake(workflow_copy, "-n", "--cores", "1", "--configfile", "old.yaml")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Job stats" not in output
    assert "config key dataset: replaced by datasets, a list (datasets: [expert])" in output


def test_a_dataset_no_source_serves_names_the_sources_and_what_each_holds():
    config = load_config()
    config["datasets"] = ["medium-replay"]
    config["data"]["d4rl"]["sources"] = ["hub"]
    config["data"]["d4rl"]["local_dir"] = "/nonexistent"
    (problem,) = dataset_problems(config)
    assert problem.startswith("config key datasets: 'medium-replay' needs 'medium-replay', "
                              "which no configured source serves (data.d4rl.sources, hub: "
                              "['medium', 'expert'])")
    config["datasets"] = ["medium-expert"]  # stitched from the mirror's medium and expert
    assert dataset_problems(config) == []
    config["data"]["d4rl"]["hub"]["datasets"] = ["medium"]
    assert "'medium-expert' (stitched from medium and expert) needs 'expert'" in \
        dataset_problems(config)[0]


def test_d4rl_with_the_release_fetches_medium_expert_as_a_file(workflow_copy):
    (workflow_copy / "grid.yaml").write_text(yaml.safe_dump(
        {"envs": ["hopper"], "seeds": [666], "datasets": ["medium-expert"]}))
    result = run_snakemake(workflow_copy, "results/data/d4rl/hopper_medium-expert-v2.hdf5",
                           "-n", "--cores", "1", "--configfile", "grid.yaml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "rule fetch_d4rl_dataset:" in output and "stitch_dataset" not in output
    assert '"dataset": "medium-expert"' in output
