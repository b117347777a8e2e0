"""MINE: close to the closed-form MI of Gaussians, and one stacked run of many estimators
gives each estimator exactly what it gives alone."""

import dataclasses

import numpy as np
import pytest
import torch

from modality_rl.metrics.mine import (MineConfig, StackedStatisticsNetwork, _draw, _padded,
                                      _rows, _train, donsker_varadhan, mine_estimate,
                                      mine_estimates, mine_estimates_with_null)
from modality_rl.metrics.null import null_permutation

# The paper's config (n = 100, H = 400, lr 1e-4, 1000 epochs) is too noisy to check against
# a closed form: 100 samples give a DV bound whose sampling error alone is ~0.1 nats, and
# 1000 epochs of a 400-wide network take minutes on CPU. 2000 samples, H = 64, lr 1e-3,
# 50 epochs of batch 100 land within ~0.055 nats of the truth (8 seeds tried) in ~6 s.
ACCURATE = MineConfig(hidden=64, learning_rate=1e-3, iterations=50, batch_size=100)
SMALL = MineConfig(hidden=32, learning_rate=1e-3, iterations=30, batch_size=25)


@pytest.fixture(autouse=True)
def one_thread():
    """These matmuls are small: one thread is as fast, and on a busy machine two spinning
    OpenMP threads made the closed-form test 3-12x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gaussian_pair(rho: float, d: int, n: int, rng: np.random.Generator):
    """d independent component pairs with correlation rho: I = -d/2 log(1 - rho^2)."""
    x = rng.normal(size=(n, d))
    z = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))
    return (x[:, 0], z[:, 0]) if d == 1 else (x, z), -d / 2 * np.log(1 - rho**2)


def mixed_width_pairs(n: int = 100):
    """Three dependent pairs of different widths, so that two of them are padded."""
    rng = np.random.default_rng(1)
    pairs = []
    for dx, dz in ((5, 1), (2, 3), (8, 2)):
        x = rng.normal(size=(n, dx))
        z = x[:, :1] + 0.5 * rng.normal(size=(n, dz))
        pairs.append((x, z[:, 0] if dz == 1 else z))
    return pairs


def test_gaussians_match_closed_form_in_one_call():
    rng = np.random.default_rng(0)
    cases = [(0.0, 1), (0.5, 1), (0.8, 1), (0.9, 1), (0.5, 2), (0.8, 2)]
    pairs, truth = zip(*(gaussian_pair(rho, d, 2000, rng) for rho, d in cases))
    estimates = mine_estimates(pairs, ACCURATE)
    np.testing.assert_allclose(estimates, truth, atol=0.1)
    # True MIs are 0, .14, .29, .51, .83, 1.02: the estimates keep that order, so they
    # grow with rho at fixed d.
    np.testing.assert_array_equal(np.argsort(estimates), np.argsort(truth))


def test_batched_equals_sequential_across_widths():
    pairs, seeds = mixed_width_pairs(), [7, 3, 11]
    batched = mine_estimates(pairs, SMALL, seeds=seeds)
    sequential = [mine_estimate(x, z, SMALL, seed=s) for (x, z), s in zip(pairs, seeds)]
    np.testing.assert_allclose(batched, sequential, rtol=0, atol=1e-5)
    assert np.all(np.isfinite(batched)) and len(np.unique(batched.round(4))) == 3


def test_batched_equals_sequential_exactly_in_float64():
    # float32 rounding differs between a batch of 3 and of 1 (~1e-7) and training amplifies
    # it; in float64 that noise is ~1e-16, so any semantic difference would show.
    pairs, seeds = mixed_width_pairs(), [7, 3, 11]
    config = MineConfig(hidden=48, learning_rate=1e-3, iterations=60, batch_size=25)
    batched = mine_estimates(pairs, config, seeds=seeds, dtype=torch.float64)
    sequential = [mine_estimate(x, z, config, seed=s, dtype=torch.float64)
                  for (x, z), s in zip(pairs, seeds)]
    np.testing.assert_allclose(batched, sequential, rtol=0, atol=1e-12)


def test_chunks_of_estimators_give_the_estimates_of_one_stack():
    """Chunks of 2 of five pairs (widths differ, so each chunk pads to its own widest),
    and of 3 for pairs with nulls (a chunk mixes estimates and nulls): in float64 the
    same numbers as one stack."""
    pairs = mixed_width_pairs() + mixed_width_pairs()[:2][::-1]
    seeds = [7, 3, 11, 5, 2]
    config = MineConfig(hidden=48, learning_rate=1e-3, iterations=40, batch_size=25,
                        chunk_size=10)
    chunked = dataclasses.replace(config, chunk_size=2)
    whole = mine_estimates(pairs, config, seeds=seeds, dtype=torch.float64)
    np.testing.assert_allclose(mine_estimates(pairs, chunked, seeds=seeds, dtype=torch.float64),
                               whole, rtol=0, atol=1e-12)
    with_null = mine_estimates_with_null(pairs, config, seeds=seeds, dtype=torch.float64)
    for got, want in zip(mine_estimates_with_null(pairs, dataclasses.replace(config, chunk_size=3),
                                                  seeds=seeds, dtype=torch.float64), with_null):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(with_null[0], whole, rtol=0, atol=1e-12)
    assert len(np.unique(whole.round(6))) == 5  # five different estimators, not one


def test_rows_pick_each_estimators_own_rows_and_pass_gradients_back_to_them():
    """_rows is a per-estimator gather of whole rows (done as one index_select of the
    flattened rows): the values and the gradient of a.gather along the sample axis."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, 10, 3, generator=g, requires_grad=True)
    index = torch.rand(4, 10, generator=g).argsort(dim=1)[:, :6]  # (E, B), as in training
    picked = _rows(a, index)
    expected = a.gather(1, index[..., None].expand(-1, -1, 3))
    assert torch.equal(picked, expected) and picked[2, 1].equal(a[2, index[2, 1]])
    weight = torch.randn(4, 6, 3, generator=g)
    grad, = torch.autograd.grad((picked * weight).sum(), a)
    grad_expected, = torch.autograd.grad((expected * weight).sum(), a)
    assert torch.equal(grad, grad_expected)


def test_padded_first_layer_rows_stay_zero():
    pairs = mixed_width_pairs()
    xs = [torch.as_tensor(x, dtype=torch.float32).reshape(100, -1) for x, _ in pairs]
    zs = [torch.as_tensor(z, dtype=torch.float32).reshape(100, -1) for _, z in pairs]
    draws = _draw(xs, zs, [0, 1, 2], SMALL, torch.device("cpu"))
    # Each real block starts at nn.Linear's bound for its own fan_in dx + dz.
    for i, (x, z) in enumerate(zip(xs, zs)):
        bound = 1 / np.sqrt(x.shape[1] + z.shape[1])
        w = draws.weights
        real = torch.cat([w["w1x"][i, :x.shape[1]], w["w1z"][i, :z.shape[1]]])
        assert 0.9 * bound < real.abs().max() <= bound
    initial = draws.weights["w1x"].clone()  # the network trains these tensors in place
    net = StackedStatisticsNetwork(draws.weights)
    _train(net, _padded(xs, "cpu"), _padded(zs, "cpu"), draws, SMALL, progress=False)
    for i, (x, z) in enumerate(zip(xs, zs)):
        assert torch.all(net.w1x[i, x.shape[1]:] == 0) and torch.all(net.w1z[i, z.shape[1]:] == 0)
        assert not torch.equal(net.w1x[i, :x.shape[1]], initial[i, :x.shape[1]])  # trained


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_network_has_the_configured_hidden_layers(layers):
    """hidden_layers counts the ReLU layers: the released util_mi_calculation.py has 3 of
    400 (Linear(d, 400), then two Linear(400, 400)), before a Linear(400, 1)."""
    (x, z), = mixed_width_pairs()[:1]
    config = MineConfig(hidden=16, hidden_layers=layers, iterations=1, batch_size=25)
    xs = [torch.as_tensor(x, dtype=torch.float32)]
    zs = [torch.as_tensor(z[:, None], dtype=torch.float32)]
    net = StackedStatisticsNetwork(_draw(xs, zs, [0], config, torch.device("cpu")).weights)
    assert net.hidden_layers == layers
    # Weight shapes per estimator: first layer (dx + dz) x H, then H x H per further hidden
    # layer, then H x 1.
    shapes = [(net.w1x.shape[1] + net.w1z.shape[1], net.w1x.shape[2])]
    shapes += [tuple(w.shape[1:]) for w in net.ws]
    assert shapes == [(6, 16)] + [(16, 16)] * (layers - 1) + [(16, 1)]
    # The same hand-built MLP (ReLU after every hidden layer) gives the same T.
    ws = [torch.cat([net.w1x[0], net.w1z[0]])] + [w[0] for w in net.ws]
    bs = [net.b1[0]] + [b[0] for b in net.bs]
    h = torch.cat([xs[0], zs[0]], dim=1)
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = h @ w + b
        h = torch.relu(h) if i < layers else h
    t_joint, _ = net(xs[0][None], zs[0][None], torch.arange(100)[None])
    torch.testing.assert_close(t_joint[0], h[:, 0])


def test_default_network_is_the_released_one():
    assert (MineConfig().hidden, MineConfig().hidden_layers) == (400, 3)
    with pytest.raises(ValueError, match="hidden_layers is 0"):
        MineConfig(hidden_layers=0)


def test_null_baseline_brackets_independent_data_and_not_dependent_data():
    """Six independent pairs and one at rho 0.9 (d = 1, n = 2000, true MI 0.83 nats)."""
    rng = np.random.default_rng(3)
    independent = [gaussian_pair(0.0, 1, 2000, rng)[0] for _ in range(6)]
    dependent, truth = gaussian_pair(0.9, 1, 2000, rng)
    estimates, nulls = mine_estimates_with_null(independent + [dependent], ACCURATE)
    # Independent data: an estimate is a draw from the null's own distribution (here
    # 0.004-0.012 nats), so their mean falls inside the range of the seven nulls.
    low, high = nulls.min(), nulls.max()
    assert low <= estimates[:6].mean() <= high, (estimates, nulls)
    # Dependent data: far above every null, at the closed form.
    assert estimates[6] > high + 0.5 and estimates[6] == pytest.approx(truth, abs=0.1)


def test_null_shares_its_pairs_stream_and_permutes_z():
    pairs, seeds = mixed_width_pairs(), [7, 3, 11]
    estimates, nulls = mine_estimates_with_null(pairs, SMALL, seeds=seeds)
    np.testing.assert_allclose(estimates, mine_estimates(pairs, SMALL, seeds=seeds), atol=1e-5)
    permutation = null_permutation(100, SMALL.seed)
    assert sorted(permutation) == list(range(100)) and np.any(permutation != np.arange(100))
    permuted = [(x, z[permutation]) for x, z in pairs]
    np.testing.assert_allclose(nulls, mine_estimates(permuted, SMALL, seeds=seeds), atol=1e-5)


def test_seeds_make_runs_repeatable_and_distinct():
    pairs = mixed_width_pairs()[:2]
    first = mine_estimates(pairs, SMALL)
    np.testing.assert_array_equal(first, mine_estimates(pairs, SMALL))
    # Default seeds are streams 0, 1, ...; alone means unpadded, so equal up to rounding.
    assert mine_estimate(*pairs[0], SMALL) == pytest.approx(first[0], abs=1e-5)
    other_config_seed = mine_estimates(pairs, MineConfig(**{**vars(SMALL), "seed": 1}))
    other_streams = mine_estimates(pairs, SMALL, seeds=[5, 6])
    assert np.all(first != other_config_seed) and np.all(first != other_streams)


def test_clear_errors():
    x = np.zeros((100, 2))
    with pytest.raises(ValueError, match="empty"):
        mine_estimates([])
    with pytest.raises(ValueError, match="x has 100 samples but z has 99"):
        mine_estimates([(x, np.zeros(99))])
    with pytest.raises(ValueError, match="pair 1 has 60 samples but pair 0 has 100"):
        mine_estimates([(x, x), (np.zeros(60), np.zeros(60))])
    with pytest.raises(ValueError, match="fewer than batch_size"):
        mine_estimates([(np.zeros(40), np.zeros(40))], MineConfig(batch_size=50))
    with pytest.raises(ValueError, match="2 seeds for 1 pairs"):
        mine_estimates([(x, x)], SMALL, seeds=[0, 1])
    with pytest.raises(ValueError, match=r"pair 1: z must be \(n,\) or \(n, d\)"):
        mine_estimates([(x, x), (x, np.zeros((100, 2, 2)))])
    with pytest.raises(ValueError, match="chunk_size is 0"):
        MineConfig(chunk_size=0)


def test_diverged_estimator_is_nan_and_leaves_others_alone():
    (x, z), kept = mixed_width_pairs()[:2]
    # Inputs of 1e6 make exp(T) overflow after the first update: that network diverges.
    estimates = mine_estimates([(x * 1e6, z * 1e6), kept], SMALL, seeds=[0, 1])
    assert np.isnan(estimates[0])
    assert estimates[1] == pytest.approx(mine_estimate(*kept, SMALL, seed=1), abs=1e-5)


def test_donsker_varadhan_maps_non_finite_to_nan():
    t_joint = torch.tensor([[1.0, 2.0], [np.inf, 0.0], [np.nan, 0.0], [0.0, 0.0]])
    t_marginal = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [np.inf, 0.0]])
    bound = donsker_varadhan(t_joint, t_marginal)
    assert bound[0] == pytest.approx(1.5)
    assert np.all(np.isnan(bound[1:]))


def test_progress_bar_runs(capsys):
    x = np.random.default_rng(0).normal(size=50)
    estimate = mine_estimates([(x, x)], MineConfig(hidden=8, iterations=2, batch_size=50),
                              progress=True)
    assert np.isfinite(estimate).all() and "MINE" in capsys.readouterr().err
