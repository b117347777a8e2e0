"""The gathered windows are bit-identical to the per-window code they replaced, and the
released code's trajectory draw is reproduced exactly.

`reference_sample` below is the sampler as it was before the gather (one window at a
time, padded in float64), kept here as the oracle: same RNG calls, same arithmetic.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers import d4rl_arrays
from modality_rl.data.trajectories import Trajectory, returns_to_go, split_trajectories, \
    state_statistics
from modality_rl.data.windows import PAD_ACTION, WindowBatch, WindowSampler


def reference_window(trajectory: Trajectory, start: int, k: int, mean, std,
                     max_episode_steps: int, returns_scale: float) -> dict[str, np.ndarray]:
    end = min(start + k, len(trajectory))
    pad = k - (end - start)

    def left_pad(values: np.ndarray, fill: float) -> np.ndarray:
        padding = np.full((pad,) + values.shape[1:], fill, dtype=np.float64)
        return np.concatenate([padding, values], axis=0)[None]

    states = left_pad(trajectory.observations[start:end], 0.0)
    timesteps = np.minimum(np.arange(start, end), max_episode_steps - 1)
    return dict(
        states=((states - mean) / std).astype(np.float32),
        actions=left_pad(trajectory.actions[start:end], PAD_ACTION).astype(np.float32),
        rewards=left_pad(trajectory.rewards[start:end, None], 0.0).astype(np.float32),
        returns_to_go=(left_pad(returns_to_go(trajectory.rewards)[start:end, None], 0.0)
                       / returns_scale).astype(np.float32),
        timesteps=left_pad(timesteps, 0).astype(np.int64),
        mask=left_pad(np.ones(end - start), 0.0).astype(np.float32),
    )


def reference_sample(trajectories, batch_size, rng, k, mean, std, max_episode_steps,
                     returns_scale) -> dict[str, np.ndarray]:
    lengths = np.array([len(t) for t in trajectories])
    indices = rng.choice(len(trajectories), size=batch_size, p=lengths / lengths.sum())
    starts = rng.integers(0, lengths[indices])
    windows = [reference_window(trajectories[i], s, k, mean, std, max_episode_steps,
                                returns_scale) for i, s in zip(indices, starts)]
    return {key: np.concatenate([w[key] for w in windows]) for key in windows[0]}


def assert_bit_identical(batch: WindowBatch, expected: dict[str, np.ndarray]) -> None:
    for key, value in batch.as_dict().items():
        if isinstance(value, torch.Tensor):
            value = value.numpy()
        assert value.dtype == expected[key].dtype, key
        assert value.shape == expected[key].shape, key
        assert value.tobytes() == expected[key].tobytes(), key


# Short trajectories (1 to 30 steps) so that K = 20 windows are often padded; a long one
# so that max_episode_steps = 25 caps timesteps; observations in float32 (as D4RL) or
# float64, statistics in float32 (state_statistics of float32) or float64.
@pytest.mark.parametrize("k", [1, 20])
@pytest.mark.parametrize("observations_dtype, statistics_dtype",
                         [(np.float32, None), (np.float64, np.float64)])
@pytest.mark.parametrize("device", [None, "cpu"])
def test_gathered_windows_are_bit_identical_to_the_per_window_code(k, observations_dtype,
                                                                     statistics_dtype, device):
    arrays = d4rl_arrays("halfcheetah", [1, 3, 7, 19, 20, 21, 30, 60], seed=3)
    arrays["observations"] = arrays["observations"].astype(observations_dtype) * 3 + 1
    trajectories = split_trajectories(arrays)
    mean, std = state_statistics(trajectories)
    if statistics_dtype is not None:
        mean, std = mean.astype(statistics_dtype), std.astype(statistics_dtype)
    settings = dict(max_episode_steps=25, returns_scale=7.0)
    sampler = WindowSampler(trajectories, k, mean, std, **settings)
    if device is not None:
        sampler = sampler.to(device)
    padded = capped = 0
    for seed in range(40):
        ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        batch = sampler.sample(64, ours)
        expected = reference_sample(trajectories, 64, theirs, k, mean, std,
                                    settings["max_episode_steps"], settings["returns_scale"])
        assert_bit_identical(batch, expected)
        assert ours.bit_generator.state == theirs.bit_generator.state  # the same draws
        padded += int((expected["mask"] == 0).sum())
        capped += int((expected["timesteps"] == 24).sum())
    # The cases the test is about did occur.
    assert capped > 0 and (padded > 0) == (k > 1)


def test_storage_on_a_torch_device_returns_tensors_there():
    trajectories = split_trajectories(d4rl_arrays("hopper", [4, 9]))
    sampler = WindowSampler(trajectories, 5, *state_statistics(trajectories)).to("cpu")
    batch = sampler.sample(8, np.random.default_rng(0))
    assert all(isinstance(v, torch.Tensor) and v.device.type == "cpu"
               for v in batch.as_dict().values())
    assert sampler.storage.nbytes == sum(v.nbytes for v in sampler.storage.steps.values())


def trajectories_with_returns(returns: list[float], lengths: list[int]) -> list[Trajectory]:
    arrays = d4rl_arrays("hopper", lengths, seed=1)
    trajectories = split_trajectories(arrays)
    return [replace(t, rewards=np.full(len(t), r / len(t), np.float32))
            for t, r in zip(trajectories, returns)]


def released_draw(trajectories, batch_size, rng):
    """The released experiment.py's trajectory selection and get_batch draw (pct_traj = 1),
    transcribed with `np.random` replaced by the Generator `rng`."""
    traj_lens = np.array([len(t) for t in trajectories])
    returns = np.array([t.rewards.sum() for t in trajectories])
    num_timesteps = max(int(1.0 * sum(traj_lens)), 1)
    sorted_inds = np.argsort(returns)  # lowest to highest
    num_trajectories = 1
    timesteps = traj_lens[sorted_inds[-1]]
    ind = len(trajectories) - 2
    while ind >= 0 and timesteps + traj_lens[sorted_inds[ind]] < num_timesteps:
        timesteps += traj_lens[sorted_inds[ind]]
        num_trajectories += 1
        ind -= 1
    sorted_inds = sorted_inds[-num_trajectories:]
    p_sample = traj_lens[sorted_inds] / sum(traj_lens[sorted_inds])
    batch_inds = rng.choice(np.arange(num_trajectories), size=batch_size, replace=True,
                            p=p_sample)
    indices = sorted_inds[batch_inds]
    return indices, rng.integers(0, traj_lens[indices])


def test_released_sampling_reproduces_the_released_draw_and_skips_the_lowest_return():
    returns = [5.0, -3.0, 12.0, 0.5, 7.0]  # the lowest-return trajectory is index 1
    trajectories = trajectories_with_returns(returns, [10, 40, 25, 30, 15])
    mean, std = state_statistics(trajectories)
    released = WindowSampler(trajectories, 4, mean, std, trajectory_sampling="released")
    for seed in range(20):
        indices, starts = released.sample_starts(256, np.random.default_rng(seed))
        expected_indices, expected_starts = released_draw(trajectories, 256,
                                                          np.random.default_rng(seed))
        np.testing.assert_array_equal(indices, expected_indices)
        np.testing.assert_array_equal(starts, expected_starts)
        assert 1 not in indices and set(indices) == {0, 2, 3, 4}
    # Ours draws every trajectory, the lowest-return one included.
    ours = WindowSampler(trajectories, 4, mean, std)
    assert 1 in ours.sample_starts(256, np.random.default_rng(0))[0]


def test_released_sampling_keeps_a_lone_trajectory():
    trajectories = trajectories_with_returns([1.0], [12])
    sampler = WindowSampler(trajectories, 4, *state_statistics(trajectories),
                            trajectory_sampling="released")
    indices, _ = sampler.sample_starts(16, np.random.default_rng(0))
    assert (indices == 0).all()
    np.testing.assert_array_equal(indices, released_draw(trajectories, 16,
                                                         np.random.default_rng(0))[0])


def test_unknown_trajectory_sampling_names_the_key():
    trajectories = trajectories_with_returns([1.0, 2.0], [5, 5])
    with pytest.raises(ValueError, match="training.trajectory_sampling"):
        WindowSampler(trajectories, 4, *state_statistics(trajectories),
                      trajectory_sampling="best")
