"""Synthetic datasets built in real MuJoCo pass the same verification as a D4RL file."""

import h5py
import numpy as np
import pytest

from modality_rl.data.schema import verify_d4rl_file
from modality_rl.data.synthetic import (BehaviourPolicyConfig, RolloutConfig, record_replay,
                                        rollout_seed, synthesize_dataset,
                                        train_behaviour_policy)
from modality_rl.data.trajectories import load_trajectories

pytestmark = pytest.mark.slow
TINY_POLICY = BehaviourPolicyConfig(total_steps=300, learning_starts=100, batch_size=32,
                                    hidden_sizes=(16, 16))


def train(target):
    train_behaviour_policy(TINY_POLICY, env="walker2d", seed=3, target=target)


def rollout(dataset: str, transitions: int) -> RolloutConfig:
    return RolloutConfig(env="walker2d", dataset=dataset, seed=rollout_seed(3, dataset),
                         transitions=transitions, medium_action_noise=0.3)


@pytest.fixture(scope="module")
def behaviour_policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "walker2d_sac.zip"
    train(path)
    return path


def read(path):
    with h5py.File(path, "r") as f:
        return {key: f[key][()] for key in f}


@pytest.mark.parametrize("dataset", ["medium", "expert", "random"])
def test_synthetic_dataset_follows_the_d4rl_schema(dataset, behaviour_policy, tmp_path):
    target = tmp_path / f"walker2d_{dataset}-v2.hdf5"
    cfg = rollout(dataset, 400)
    summary = synthesize_dataset(cfg, None if dataset == "random" else behaviour_policy, target)
    assert verify_d4rl_file(target, "walker2d") == 400 == summary["transitions"]
    arrays = read(target)
    ends = arrays["terminals"] | arrays["timeouts"]
    assert ends[-1], "the budget's last transition closes its episode"
    assert not (arrays["terminals"] & arrays["timeouts"]).any()
    # Within an episode, each next observation is the following observation.
    inside = np.flatnonzero(~ends[:-1])
    np.testing.assert_array_equal(arrays["next_observations"][inside],
                                  arrays["observations"][inside + 1])
    assert np.abs(arrays["actions"]).max() <= 1.0
    assert sum(len(t) for t in load_trajectories(target)) == 400


def test_same_seed_gives_the_same_policy_and_data(behaviour_policy, tmp_path):
    train(tmp_path / "again.zip")
    cfg = rollout("medium", 200)
    synthesize_dataset(cfg, behaviour_policy, tmp_path / "a.hdf5")
    synthesize_dataset(cfg, tmp_path / "again.zip", tmp_path / "b.hdf5")
    first, second = read(tmp_path / "a.hdf5"), read(tmp_path / "b.hdf5")
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_datasets_of_one_policy_get_distinct_seeds():
    assert len({rollout_seed(0, d) for d in ("medium", "expert", "random")}) == 3


@pytest.mark.parametrize("dataset, level", [("full-replay", None), ("medium-replay", -1e9)])
def test_replay_datasets_are_the_policys_training_buffer(dataset, level, tmp_path):
    """full-replay: every transition SAC collected in training; medium-replay: until its
    last ten training episodes reach the level (here: at once, after ten episodes)."""
    target = tmp_path / f"walker2d_{dataset}-v2.hdf5"
    summary = record_replay(TINY_POLICY, env="walker2d", seed=3, dataset=dataset,
                            medium_level=level, target=target)
    n = verify_d4rl_file(target, "walker2d")
    assert n == summary["transitions"]
    if level is None:
        assert n == TINY_POLICY.total_steps and not summary["reached_medium_level"]
    else:
        assert n < TINY_POLICY.total_steps and summary["reached_medium_level"]
        assert summary["episodes"] == 10
    arrays = read(target)
    ends = arrays["terminals"] | arrays["timeouts"]
    assert ends[-1] and not (arrays["terminals"] & arrays["timeouts"]).any()
    inside = np.flatnonzero(~ends[:-1])
    np.testing.assert_array_equal(arrays["next_observations"][inside],
                                  arrays["observations"][inside + 1])
    with h5py.File(target) as f:
        assert f.attrs["dataset"] == dataset and "replay buffer" in f.attrs["provenance"]
