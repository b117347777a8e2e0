"""Loader and window sampler: episode splitting, returns-to-go, padding, masks, sampling."""

import numpy as np
import pytest

from helpers import d4rl_arrays
from modality_rl.data.trajectories import (load_trajectories, returns_to_go, split_trajectories,
                                           state_statistics)
from modality_rl.data.windows import PAD_ACTION, WindowBatch, WindowSampler


def test_split_at_terminals_and_timeouts_drops_unfinished_tail():
    arrays = d4rl_arrays("hopper", [3, 4, 5])
    # Unflag the last episode's end: its 5 transitions no longer form a finished episode.
    arrays["terminals"][-1] = False
    trajectories = split_trajectories(arrays)
    assert [len(t) for t in trajectories] == [3, 4]
    assert [t.terminal for t in trajectories] == [False, False]
    np.testing.assert_array_equal(trajectories[1].observations, arrays["observations"][3:7])


def test_terminal_flag_and_file_round_trip(make_d4rl_file):
    trajectories = load_trajectories(make_d4rl_file(episode_lengths=(30, 50, 20)))
    assert [len(t) for t in trajectories] == [30, 50, 20]
    assert [t.terminal for t in trajectories] == [False, False, True]


def test_returns_to_go_sums_future_rewards():
    np.testing.assert_allclose(returns_to_go(np.array([1.0, 2.0, 3.0])), [6.0, 5.0, 3.0])


def test_state_statistics_match_numpy_over_all_states():
    trajectories = split_trajectories(d4rl_arrays("hopper", [10, 20]))
    mean, std = state_statistics(trajectories)
    states = np.concatenate([t.observations for t in trajectories])
    np.testing.assert_allclose(mean, states.mean(0), rtol=1e-6)
    np.testing.assert_allclose(std, states.std(0) + 1e-6, rtol=1e-6)


@pytest.fixture
def trajectories():
    return split_trajectories(d4rl_arrays("hopper", [5, 8]))


@pytest.fixture
def sampler(trajectories):
    mean, std = state_statistics(trajectories)
    return WindowSampler(trajectories, context_length=4, state_mean=mean, state_std=std,
                         max_episode_steps=1000, returns_scale=10.0)


def window(sampler: WindowSampler, index: int, start: int) -> WindowBatch:
    return sampler.windows(np.array([index]), np.array([start]))


def test_full_window_has_no_padding(sampler, trajectories):
    batch = window(sampler, 1, 2)
    trajectory = trajectories[1]
    np.testing.assert_array_equal(batch.mask, [[1, 1, 1, 1]])
    np.testing.assert_array_equal(batch.timesteps, [[2, 3, 4, 5]])
    np.testing.assert_allclose(batch.actions[0], trajectory.actions[2:6])
    expected_states = (trajectory.observations[2:6] - sampler.state_mean) / sampler.state_std
    np.testing.assert_allclose(batch.states[0], expected_states, rtol=1e-5)
    np.testing.assert_allclose(batch.returns_to_go[0, :, 0],
                               returns_to_go(trajectory.rewards)[2:6] / 10.0, rtol=1e-6)


def test_window_past_the_end_is_left_padded(sampler, trajectories):
    batch = window(sampler, 0, 3)  # trajectory of 5 steps: only steps 3 and 4 remain
    trajectory = trajectories[0]
    np.testing.assert_array_equal(batch.mask, [[0, 0, 1, 1]])
    np.testing.assert_array_equal(batch.timesteps, [[0, 0, 3, 4]])
    assert (batch.actions[0, :2] == PAD_ACTION).all()
    np.testing.assert_allclose(batch.actions[0, 2:], trajectory.actions[3:5])
    # Padded states are 0 before normalisation, so (0 - mean) / std after it.
    np.testing.assert_allclose(batch.states[0, :2],
                               np.tile(-sampler.state_mean / sampler.state_std, (2, 1)), rtol=1e-5)
    assert (batch.returns_to_go[0, :2] == 0).all() and (batch.rewards[0, :2] == 0).all()
    np.testing.assert_allclose(batch.returns_to_go[0, 2:, 0],
                               [trajectory.rewards[3:].sum() / 10.0, trajectory.rewards[4] / 10.0],
                               rtol=1e-6)


def test_timesteps_are_capped_at_the_episode_limit():
    trajectories = split_trajectories(d4rl_arrays("hopper", [12]))
    mean, std = state_statistics(trajectories)
    capped = WindowSampler(trajectories, 4, mean, std, max_episode_steps=10)
    np.testing.assert_array_equal(window(capped, 0, 7).timesteps, [[7, 8, 9, 9]])


def test_sampling_is_length_weighted_and_seeded():
    trajectories = split_trajectories(d4rl_arrays("hopper", [1, 99]))
    mean, std = state_statistics(trajectories)
    sampler = WindowSampler(trajectories, 3, mean, std)
    indices, starts = sampler.sample_starts(5000, np.random.default_rng(0))
    assert 0.98 < (indices == 1).mean() < 1.0
    assert starts.min() == 0 and starts[indices == 1].max() == 98
    assert (starts < sampler.lengths[indices]).all()
    first = sampler.sample(64, np.random.default_rng(7))
    second = sampler.sample(64, np.random.default_rng(7))
    for key, value in first.as_dict().items():
        np.testing.assert_array_equal(value, second.as_dict()[key])
    assert first.states.shape == (64, 3, 11) and first.actions.shape == (64, 3, 3)
    assert first.returns_to_go.shape == (64, 3, 1) and first.timesteps.dtype == np.int64
