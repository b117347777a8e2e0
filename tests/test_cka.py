"""Linear CKA with the unbiased HSIC: invariances, a direct formula, independence."""

import numpy as np
import pytest

from modality_rl.metrics.cka import (centred_grams, cka_from_grams, cka_matrix, layers_above,
                                     linear_cka, normalised_layer)


def unbiased_hsic(k: np.ndarray, l: np.ndarray) -> float:
    """Song et al. (2012), eq. 5, written out term by term."""
    n = len(k)
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    ones = np.ones(n)
    return (np.trace(k @ l) + (ones @ k @ ones) * (ones @ l @ ones) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * ones @ k @ l @ ones) / (n * (n - 3))


@pytest.fixture
def activations():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 30))
    y = x @ rng.normal(size=(30, 20)) + 0.5 * rng.normal(size=(100, 20))
    return x, y


def test_cka_of_a_representation_with_itself_is_one(activations):
    x, _ = activations
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x, x, debiased=False) == pytest.approx(1.0, abs=1e-12)


def test_cka_is_invariant_to_rotation_and_isotropic_scaling(activations):
    x, y = activations
    rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(30, 30)))
    reference = linear_cka(x, y)
    assert linear_cka(x @ rotation, y) == pytest.approx(reference, abs=1e-10)
    assert linear_cka(7.5 * x, 0.01 * y) == pytest.approx(reference, abs=1e-10)
    # ... but not to an anisotropic scaling, so the check above can fail.
    assert linear_cka(x * np.linspace(0.1, 10, 30), y) != pytest.approx(reference, abs=1e-3)


def test_cka_agrees_with_the_direct_unbiased_hsic_formula(activations):
    x, y = activations
    k, l = x @ x.T, y @ y.T
    direct = unbiased_hsic(k, l) / np.sqrt(unbiased_hsic(k, k) * unbiased_hsic(l, l))
    assert linear_cka(x, y) == pytest.approx(direct, rel=1e-9)


def test_cka_is_near_zero_for_independent_data_and_debiasing_matters():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(100, 200)), rng.normal(size=(100, 200))
    assert abs(linear_cka(x, y)) < 0.05
    # The biased estimator is far from zero for wide, independent features: the reason
    # the paper (and this pipeline) uses the unbiased one.
    assert linear_cka(x, y, debiased=False) > 0.5


def test_cka_matrix_matches_pairwise_cka_and_paired_is_its_diagonal(activations):
    x, y = activations
    layers = [x, y, x[:, :5]]
    matrix = cka_matrix(layers)
    for i, a in enumerate(layers):
        for j, b in enumerate(layers):
            assert matrix[i, j] == pytest.approx(linear_cka(a, b), abs=1e-12)
    grams = centred_grams(layers)
    assert np.allclose(cka_from_grams(grams, grams[::-1], paired=True),
                       [linear_cka(x, x[:, :5]), 1.0, linear_cka(x[:, :5], x)])


def test_normalised_layer_maps_igpt_pairs_onto_gpt2_layers():
    assert [normalised_layer(i, 216, 108) for i in (0, 1, 2, 3, 215)] == [0, 0, 1, 1, 107]
    assert [normalised_layer(i, 108, 108) for i in (0, 107)] == [0, 107]


def test_layers_above_threshold_keeps_only_layers_strictly_above():
    assert layers_above(["0.ln_1", "0.attn.c_attn", "0.ln_2"], [0.5, 0.38, 0.39], 0.38) == \
        ["0.ln_1", "0.ln_2"]
