"""The fixed probe batch and the two normalised-score conventions."""

import json

import h5py
import numpy as np
import pytest

from modality_rl.data.probe_batch import ProbeBatchConfig, load_probe_batch, make_probe_batch
from modality_rl.data.trajectories import load_trajectories
from modality_rl.scores import (compute_reference_returns, load_reference_returns,
                                save_reference_returns)


def test_probe_batch_is_seeded_and_round_trips(make_d4rl_file, tmp_path):
    dataset = make_d4rl_file(episode_lengths=(30, 50, 20))
    cfg = ProbeBatchConfig(batch_size=100, context_length=20, seed=5)
    batch = make_probe_batch(dataset, tmp_path / "a.hdf5", cfg)
    again = make_probe_batch(dataset, tmp_path / "b.hdf5", cfg)
    other_seed = make_probe_batch(dataset, tmp_path / "c.hdf5",
                                  ProbeBatchConfig(batch_size=100, context_length=20, seed=6))
    loaded = load_probe_batch(tmp_path / "a.hdf5")
    for key, value in batch.as_dict().items():
        np.testing.assert_array_equal(loaded.as_dict()[key], value)
        np.testing.assert_array_equal(again.as_dict()[key], value)
    assert not np.array_equal(other_seed.states, batch.states)
    assert batch.states.shape == (100, 20, 11) and batch.mask.shape == (100, 20)
    with h5py.File(tmp_path / "a.hdf5") as f:
        assert f.attrs["seed"] == 5 and f.attrs["context_length"] == 20
        # Provenance: each window can be traced back to its trajectory and start step.
        lengths = np.array([len(t) for t in load_trajectories(dataset)])
        assert (f["start_step"][()] < lengths[f["trajectory_index"][()]]).all()


def test_normalised_scores_in_both_conventions(make_d4rl_file, tmp_path):
    random = make_d4rl_file("hopper_random-v2.hdf5", episode_lengths=(10, 10), seed=1)
    expert = make_d4rl_file("hopper_expert-v2.hdf5", episode_lengths=(40, 60), seed=2)
    refs = compute_reference_returns("hopper", random, expert)
    expected_random = np.mean([t.total_return for t in load_trajectories(random)])
    assert refs.paper_random == pytest.approx(expected_random)
    assert refs.normalised(refs.paper_random, "paper") == pytest.approx(0.0)
    assert refs.normalised(refs.paper_expert, "paper") == pytest.approx(100.0)
    assert refs.normalised(3234.3, "d4rl") == pytest.approx(100.0)
    assert refs.normalised(-20.272305, "d4rl") == pytest.approx(0.0)
    with pytest.raises(ValueError, match="convention"):
        refs.normalised(1.0, "other")
    save_reference_returns(refs, tmp_path / "refs.json")
    assert load_reference_returns(tmp_path / "refs.json") == refs
    assert json.loads((tmp_path / "refs.json").read_text())["env"] == "hopper"


def test_without_a_random_dataset_the_paper_convention_is_missing(make_d4rl_file, tmp_path):
    expert = make_d4rl_file("hopper_expert-v2.hdf5", episode_lengths=(40, 60), seed=2)
    refs = compute_reference_returns("hopper", None, expert)
    assert refs.paper_random is None and "no -random-v2 dataset" in refs.missing["paper"]
    assert np.isnan(refs.normalised(1000.0, "paper"))
    assert refs.normalised(3234.3, "d4rl") == pytest.approx(100.0)
    save_reference_returns(refs, tmp_path / "refs.json")
    assert load_reference_returns(tmp_path / "refs.json") == refs
    assert json.loads((tmp_path / "refs.json").read_text())["paper_random"] is None
