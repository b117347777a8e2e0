"""Probe dumps (layer names, shapes, round trip) and the per-sample gradient probe."""

import numpy as np
import pytest
import torch

from helpers import load_config, tiny_decision_transformer, window_batch
from modality_rl.analyses import probe_sections
from modality_rl.metrics.gradients import gradient_confusion, norm_shares
from modality_rl.metrics.parameter_change import block_parameters, parameter_change
from modality_rl.probes.activations import (ACTIVATION_SECTIONS, HOOKED_LAYERS, layer_names,
                                            record_activations)
from modality_rl.probes.dump import MissingSectionError, ProbeDump, write_probe_dump
from modality_rl.probes.gradients import (GradientConfig, _clip_scale, _loss,
                                          _vmap_gradients, gradient_probe, parameter_groups)
from modality_rl.runs import Run
from modality_rl.training import batch_tensors

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
    write_probe_dump(target, batch, activations, None, {"experiment": "main", "epoch": 0},
                     ACTIVATION_SECTIONS)
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
        with pytest.raises(MissingSectionError, match="no section 'gradients'"):
            dump.gradients()


def test_last_step_tokens_are_the_last_return_state_and_action():
    model = tiny_decision_transformer()
    activations = record_activations(model, window_batch(size=3, context_length=4))
    # mlp.dropout is the block output at every position; the hooked copy keeps the last 3,
    # as a copy: a view would keep the module's whole (N, 3K, width) output alive.
    assert np.array_equal(activations.layers["1.mlp.dropout"],
                          activations.block_outputs[1][:, -3:])
    assert not np.shares_memory(activations.layers["1.mlp.dropout"],
                                activations.block_outputs[1])
    attention = activations.attention[0]
    assert np.allclose(attention.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(attention[1, 0], k=1), 0.0)  # causal (window 1 is unpadded)


def test_each_probed_epoch_carries_the_sections_its_analyses_read():
    config = load_config()  # the paper's: main runs 40 epochs, no_context 40, block swap 10
    main, no_context, swap = (Run(experiment=e, model=m, env="hopper", dataset="medium",
                                  seed=666)
                              for e, m in (("main", "gpt2"), ("no_context", "random"),
                                           ("block_swap", "gpt2_block3")))
    assert probe_sections(config, main) == {0: ("layers",), 1: ("gradients",),
                                            40: ("layers", "block_outputs")}
    assert probe_sections(config, no_context) == {
        epoch: ("attention", "pseudo_attention") for epoch in (0, 1, 4, 10, 40)}
    assert probe_sections(config, swap) == {}
    config["analysis"]["gradients"]["epoch"] = 0  # two analyses at one epoch: both sections
    assert probe_sections(config, main)[0] == ("layers", "gradients")


def test_a_dump_holds_only_the_recorded_sections_and_names_a_missing_one(tmp_path):
    model = tiny_decision_transformer()
    batch = window_batch(size=3, context_length=4)
    activations = record_activations(model, batch, ["block_outputs"])
    assert activations.layers is None and activations.attention is None
    assert activations.pseudo_attention is None and len(activations.block_outputs) == 2
    target = tmp_path / "epoch40.hdf5"
    with pytest.raises(ValueError, match=r"\['layers'\] were asked for but not recorded"):
        write_probe_dump(target, batch, activations, None, {}, ["block_outputs", "layers"])
    assert not target.exists()
    write_probe_dump(target, batch, activations, None, {}, ["block_outputs"])
    with ProbeDump(target) as dump:
        assert dump.sections == ["block_outputs"] and dump.n_blocks == 2
        assert dump.block_output(1).shape == (3, 12, 16)
        assert np.array_equal(dump.inputs().states, batch.states)
        with pytest.raises(MissingSectionError) as missing:
            dump.attention(0)
    message = str(missing.value)
    assert str(target) in message and "'attention'" in message
    assert "analysis.attention_distance" in message and "['block_outputs']" in message
    nothing = record_activations(model, batch, [])  # an epoch probed for gradients only
    assert nothing.n_blocks == 2 and nothing.layers is None and nothing.block_outputs is None


def one_pass_gradient_probe(model, batch, cfg: GradientConfig
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vmap gradient probe as it was before the two passes (the oracle): every cosine
    sample's clipped block gradient kept, torch.cat, then unit vectors and their products;
    then the whole batch's gradient without checkpointing. (norms, cosines, per-parameter
    norms)."""
    model.train()
    torch.manual_seed(cfg.seed)
    t = batch_tensors(batch)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    norms, kept = [], []
    for start in range(0, max(cfg.norm_samples, cfg.cosine_samples), cfg.chunk_size):
        grads = _vmap_gradients(model, {k: v[start:start + cfg.chunk_size]
                                        for k, v in t.items()}, trainable)
        scale = _clip_scale(sum(g.flatten(1).pow(2).sum(dim=1) for g in grads.values()),
                            cfg.max_norm)
        prefix = model.family.blocks_prefix()
        gradients = torch.cat([g.flatten(1) for n, g in grads.items()
                               if n.startswith(prefix)], dim=1) * scale[:, None]
        norms.append(gradients.norm(dim=1))
        kept.append(gradients[:max(0, cfg.cosine_samples - start)])
    kept_gradients = torch.cat(kept)
    unit = kept_gradients / kept_gradients.norm(dim=1, keepdim=True)
    model.zero_grad()
    _loss(model, t).backward()
    if cfg.max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_norm)
    parameter_norms = [float(p.grad.norm()) for p in model.transformer.h.parameters()]
    model.zero_grad()
    return (torch.cat(norms)[:cfg.norm_samples].numpy(), (unit @ unit.T).numpy(),
            np.array(parameter_norms))


@pytest.mark.parametrize("max_norm", [0.05, None])
def test_two_pass_gradient_probe_equals_the_one_pass_probe_in_train_mode(max_norm):
    model = tiny_decision_transformer(n_layer=3, n_embd=16)
    batch = window_batch(size=13, context_length=5)
    # 13 norms in chunks of 5 (the last one short), cosines of 7: the second chunk is
    # recomputed whole (its masks) and only its first 2 rows kept.
    cfg = GradientConfig(max_norm=max_norm, norm_samples=13, cosine_samples=7, chunk_size=5,
                         seed=3)
    norms, cosines, parameter_norms = one_pass_gradient_probe(model, batch, cfg)
    memory_mb = 0.02  # a few parameters per group: the Gram matrix built from many groups
    assert len(parameter_groups(model, 12, memory_mb)) > 10
    probe = gradient_probe(model, batch, cfg, memory_mb=memory_mb)
    assert np.array_equal(probe.sample_norms, norms)  # bit-identical
    # Checkpointed blocks recompute their forward with the same masks: the same gradient.
    assert np.array_equal(probe.parameter_norms, parameter_norms)
    assert np.allclose(probe.cosines, cosines, atol=1e-6)
    assert probe.cosines.dtype == cosines.dtype
    # Different masks would show: dropout off moves the cosines far more than rounding.
    evaluated = gradient_probe(model, batch, cfg, train_mode=False, memory_mb=memory_mb)
    assert np.abs(evaluated.cosines - cosines).max() > 1e-3


def test_parameter_groups_cover_the_blocks_in_order_within_the_budget():
    model = tiny_decision_transformer(n_layer=2, n_embd=16)
    names = [n for n, _ in model.named_parameters() if n.startswith(model.family.blocks_prefix())]
    sizes = dict((n, p.numel() * 4 * 10 / 2**20) for n, p in model.named_parameters())
    for memory_mb in (0.0, 0.05, 0.2, 1e9):
        groups = parameter_groups(model, 10, memory_mb)
        assert [n for group in groups for n in group] == names
        assert all(len(g) == 1 or sum(sizes[n] for n in g) <= memory_mb for g in groups)
    assert len(parameter_groups(model, 10, 1e9)) == 1
    assert len(parameter_groups(model, 10, 0.0)) == len(names)


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
    shares = norm_shares(["0.ln_1.weight", "0.ln_1.bias", "0.ln_2.weight"], [6.0, 3.0, 1.0],
                         ["0.ln_1.weight", "0.ln_1.bias"])
    assert shares == pytest.approx({"0.ln_1.weight": 0.6, "0.ln_1.bias": 0.3, "others": 0.1})
