"""Probe dumps (layer names, shapes, round trip) and the per-sample gradient probe."""

import numpy as np
import pytest

from helpers import tiny_decision_transformer, window_batch
from modality_rl.metrics.gradients import gradient_confusion, norm_shares
from modality_rl.metrics.parameter_change import block_parameters, parameter_change
from modality_rl.probes.activations import HOOKED_LAYERS, layer_names, record_activations
from modality_rl.probes.dump import ProbeDump, write_probe_dump
from modality_rl.probes.gradients import GradientConfig, gradient_probe

# The paper's bodies: GPT-2 (12 x 768, 12 heads) and ImageGPT-small in GPT-2 blocks
# (24 x 512, 8 heads): 108 and 216 hooked layers.
PAPER_BODIES = [(12, 768, 12, "gelu_new", 108), (24, 512, 8, "quick_gelu", 216)]


@pytest.mark.parametrize("n_layer, n_embd, n_head, activation, n_layers", PAPER_BODIES)
def test_dump_of_paper_sized_bodies_has_every_layer_with_its_shape(
        tmp_path, n_layer, n_embd, n_head, activation, n_layers):
    model = tiny_decision_transformer(n_layer, n_embd, n_head, activation=activation)
    batch = window_batch(size=2, context_length=20)
    activations = record_activations(model, batch)
    target = tmp_path / "epoch0.hdf5"
    write_probe_dump(target, batch, activations, None, {"experiment": "main", "epoch": 0})
    widths = {"attn.c_attn": 3 * n_embd, "mlp.c_fc": 4 * n_embd, "mlp.act": 4 * n_embd}
    with ProbeDump(target) as dump:
        assert len(dump.layer_names) == n_layers == len(layer_names(n_layer))
        assert dump.layer_names[:9] == [f"0.{name}" for name in HOOKED_LAYERS]
        assert dump.layer_names[-1] == f"{n_layer - 1}.mlp.dropout"
        for name in dump.layer_names[:9]:
            layer = name.split(".", 1)[1]
            assert dump.layer(name, "state").shape == (2, widths.get(layer, n_embd))
        assert dump.block_output(n_layer - 1).shape == (2, 60, n_embd)
        assert dump.attention(0).shape == (2, n_head, 60, 60)
        assert dump.pseudo_attention(0).shape == (2, 60, 60)
        assert np.array_equal(dump.inputs().actions, batch.actions)
        assert dump.attrs["experiment"] == "main" and dump.n_blocks == n_layer
        with pytest.raises(KeyError, match="no gradient probe"):
            dump.gradients()


def test_last_step_tokens_are_the_last_return_state_and_action():
    model = tiny_decision_transformer()
    activations = record_activations(model, window_batch(size=3, context_length=4))
    # mlp.dropout is the block output at every position; the hooked copy keeps the last 3.
    assert np.array_equal(activations.layers["1.mlp.dropout"],
                          activations.block_outputs[1][:, -3:])
    attention = activations.attentions[0]
    assert np.allclose(attention.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(attention[1, 0], k=1), 0.0)  # causal (window 1 is unpadded)


def test_sdpa_model_is_refused_with_a_clear_error():
    model = tiny_decision_transformer(attn_implementation="sdpa")
    with pytest.raises(RuntimeError, match="eager"):
        record_activations(model, window_batch(size=2, context_length=3))


def test_vmap_per_sample_gradients_equal_the_loop_oracle():
    model = tiny_decision_transformer(n_layer=2, n_embd=16)
    batch = window_batch(size=12, context_length=5)
    cfg = GradientConfig(max_norm=0.05, norm_samples=12, cosine_samples=7, chunk_size=5, seed=0)
    # eval mode: no dropout, so the two can agree
    vmapped, looped = (gradient_probe(model, batch, cfg, method, train_mode=False)
                       for method in ("vmap", "loop"))
    assert np.allclose(vmapped.sample_norms, looped.sample_norms, rtol=1e-5, atol=1e-8)
    assert np.allclose(vmapped.cosines, looped.cosines, atol=1e-5)
    assert np.allclose(vmapped.parameter_norms, looped.parameter_norms)
    assert vmapped.cosines.shape == (7, 7)
    assert np.all(vmapped.sample_norms <= 0.05 + 1e-6)  # clipped
    assert vmapped.parameter_names[:2] == ["0.ln_1.weight", "0.ln_1.bias"]


def test_train_mode_gradients_use_dropout_and_are_seeded():
    model = tiny_decision_transformer(n_layer=2, n_embd=16)
    batch = window_batch(size=6, context_length=5)
    cfg = GradientConfig(max_norm=None, norm_samples=6, cosine_samples=3, chunk_size=6, seed=0)
    first, again = gradient_probe(model, batch, cfg), gradient_probe(model, batch, cfg)
    assert np.array_equal(first.sample_norms, again.sample_norms)
    evaluated = gradient_probe(model, batch, cfg, train_mode=False)
    assert not np.allclose(first.sample_norms, evaluated.sample_norms)


def test_gradient_probe_needs_enough_samples():
    with pytest.raises(ValueError, match="norm_samples"):
        gradient_probe(tiny_decision_transformer(), window_batch(size=4, context_length=3),
                       GradientConfig(max_norm=0.25, norm_samples=10, cosine_samples=2,
                                      chunk_size=10, seed=0))


def test_parameter_change_of_a_known_update():
    model = tiny_decision_transformer()
    before = block_parameters(model.state_dict())
    after = {name: tensor.clone() for name, tensor in before.items()}
    after["0.ln_1.bias"] = after["0.ln_1.bias"] + 3.0  # 16 entries moved by 3: L2 = 12
    after["1.ln_2.weight"] = -after["1.ln_2.weight"]
    change = parameter_change(before, after)
    assert list(change)[0] == "0.ln_1.weight"
    assert change["0.ln_1.weight"] == pytest.approx((0.0, 1.0))
    assert change["0.ln_1.bias"][0] == pytest.approx(12.0)
    assert change["1.ln_2.weight"][1] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="different parameter sets"):
        parameter_change(before, {k: v for k, v in after.items() if k != "0.ln_1.bias"})


def test_gradient_summaries():
    cosines = np.array([[1.0, -0.3, 0.2], [-0.3, 1.0, 0.1], [0.2, 0.1, 1.0]])
    assert gradient_confusion(cosines) == -0.3
    shares = norm_shares(["0.ln_1.weight", "0.ln_1.bias", "0.ln_2.weight"], [6.0, 3.0, 1.0])
    assert shares == pytest.approx({"0.ln_1.weight": 0.6, "0.ln_1.bias": 0.3, "others": 0.1})
