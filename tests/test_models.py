"""Decision Transformer and backbones: Appendix C names, local loading, block swap."""

import pytest
import torch

from helpers import PAPER_DROPOUT, load_config
from modality_rl.models.backbones import (BackboneUnavailableError, PretrainedLocation,
                                          RandomBodyConfig, block_swap_body, pretrained_body,
                                          random_body)
from modality_rl.models.decision_transformer import DecisionTransformer, block_parameter_sets

TINY = RandomBodyConfig(n_layer=3, n_embd=32, n_head=1, activation="relu")
BLOCK_LAYERS = ["ln_1", "attn", "attn.c_attn", "attn.c_proj", "attn.attn_dropout",
                "attn.resid_dropout", "ln_2", "mlp", "mlp.c_fc", "mlp.c_proj", "mlp.act",
                "mlp.dropout"]
PARAMETER_SETS = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                  "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                  "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]


def at(path, load_as=None) -> PretrainedLocation:
    return PretrainedLocation(name_or_path=str(path), load_as=load_as)


def tiny_dt(body=None, state_dim=11, act_dim=3):
    torch.manual_seed(0)
    return DecisionTransformer(body or random_body(TINY, PAPER_DROPOUT), state_dim, act_dim)


def inputs(batch=2, steps=4, state_dim=11, act_dim=3):
    generator = torch.Generator().manual_seed(1)
    return (torch.randn(batch, steps, state_dim, generator=generator),
            torch.randn(batch, steps, act_dim, generator=generator),
            torch.randn(batch, steps, 1, generator=generator),
            torch.randint(0, 1000, (batch, steps), generator=generator))


@pytest.fixture(scope="module")
def saved_gpt2(tmp_path_factory):
    from transformers import GPT2Config, GPT2LMHeadModel

    path = tmp_path_factory.mktemp("gpt2")
    torch.manual_seed(2)
    GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=64, n_embd=32, n_layer=3,
                               n_head=4)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def saved_igpt(tmp_path_factory):
    from transformers import ImageGPTConfig, ImageGPTForCausalImageModeling

    path = tmp_path_factory.mktemp("igpt")
    torch.manual_seed(3)
    ImageGPTForCausalImageModeling(ImageGPTConfig(vocab_size=17, n_positions=64, n_embd=32,
                                                  n_layer=6, n_head=4)).save_pretrained(path)
    return path


def test_module_names_follow_appendix_c():
    names = {name for name, _ in tiny_dt().named_modules()}
    for i in range(TINY.n_layer):
        assert {f"transformer.h.{i}.{layer}" for layer in BLOCK_LAYERS} <= names
    assert {"embed_timestep", "embed_return", "embed_state", "embed_action", "embed_ln",
            "transformer.ln_f", "transformer.wpe"} <= names
    assert tiny_dt().embed_timestep.num_embeddings == 1000


def test_parameter_sets_follow_listing_3():
    sets = list(block_parameter_sets(tiny_dt()))
    assert sets == [f"{i}.{name}" for i in range(TINY.n_layer) for name in PARAMETER_SETS]


def test_random_body_has_the_configured_shape_and_dropout():
    body = random_body(RandomBodyConfig(**load_config()["backbones"]["random"]), PAPER_DROPOUT)
    assert (len(body.h), body.config.n_embd, body.config.n_head) == (12, 768, 1)
    assert body.config.activation_function == "relu"
    assert body.drop.p == 0.1 and body.h[0].attn.attn_dropout.p == 0.1
    assert body.h[0].attn.resid_dropout.p == 0.2 and body.h[0].mlp.dropout.p == 0.2


def test_forward_shapes_tied_tanh_head_and_unused_positions():
    model = tiny_dt().eval()
    states, actions, returns, timesteps = inputs()
    predicted, attentions = model(states, actions, returns, timesteps, output_attentions=True)
    assert predicted.shape == (2, 4, 3) and predicted.abs().max() < 1
    assert len(attentions) == 3 and attentions[0].shape == (2, 1, 12, 12)
    # The head has no parameters of its own: it is the action embedding transposed.
    hidden = model.transformer(inputs_embeds=model.embed(states, actions, returns, timesteps))
    state_tokens = hidden.last_hidden_state[:, 1::3]
    expected = torch.tanh(state_tokens @ model.embed_action.weight)
    torch.testing.assert_close(predicted, expected)
    assert not model.transformer.wpe.weight.any() and not model.transformer.wpe.weight.requires_grad


def test_time_embedding_is_added_after_embed_ln():
    model = tiny_dt().eval()
    states, actions, returns, timesteps = inputs()
    tokens = model.embed(states, actions, returns, timesteps)
    without_time = tokens - model.embed_timestep(timesteps).repeat_interleave(3, dim=1)
    # After embed_ln (default affine), every token has mean 0 before the time embedding.
    torch.testing.assert_close(without_time.mean(-1), torch.zeros(2, 12), atol=1e-5, rtol=0)


def test_padding_mask_hides_padded_steps():
    model = tiny_dt().eval()
    states, actions, returns, timesteps = inputs(batch=1)
    mask = torch.tensor([[0, 0, 1, 1]])
    base = model(states, actions, returns, timesteps, attention_mask=mask)
    states[:, :2] += 100.0  # changing padded steps must not change real predictions
    changed = model(states, actions, returns, timesteps, attention_mask=mask)
    torch.testing.assert_close(base[:, 2:], changed[:, 2:])


def test_locally_saved_gpt2_loads_through_from_pretrained(saved_gpt2):
    from transformers import GPT2LMHeadModel

    reference = GPT2LMHeadModel.from_pretrained(saved_gpt2).transformer
    body = pretrained_body("gpt2", at(saved_gpt2), PAPER_DROPOUT)
    for name, value in reference.h.state_dict().items():
        torch.testing.assert_close(body.h.state_dict()[name], value, msg=name)
    assert body.config.n_head == 4 and body.h[0].mlp.dropout.p == 0.2
    assert body.config._attn_implementation == "eager"


def test_the_unused_token_embedding_is_dropped_without_drawing_random_numbers(saved_gpt2):
    """The DT feeds embeddings, never token ids: a checkpoint does not carry the body's
    wte, and dropping it leaves the random state, so the DT's own init is unchanged."""
    body = pretrained_body("gpt2", at(saved_gpt2), PAPER_DROPOUT)
    assert body.wte.weight.shape[0] == 50  # the saved model's vocabulary
    torch.manual_seed(5)
    state = torch.get_rng_state()
    dt = DecisionTransformer(body, 11, 3)
    torch.set_rng_state(state)
    reference = torch.nn.Embedding(1000, body.config.n_embd)  # the DT's first own module
    torch.testing.assert_close(dt.embed_timestep.weight, reference.weight)
    assert dt.transformer.wte.weight.shape == (1, body.config.n_embd)
    assert not dt.transformer.wte.weight.requires_grad
    assert dt.state_dict()["transformer.wte.weight"].numel() == body.config.n_embd


def test_igpt_weights_go_into_gpt2_blocks(saved_igpt):
    from transformers import ImageGPTForCausalImageModeling

    reference = ImageGPTForCausalImageModeling.from_pretrained(saved_igpt).transformer
    body = pretrained_body("igpt", at(saved_igpt), PAPER_DROPOUT)
    assert type(body.h[0].ln_1).__name__ == "LayerNorm" and len(body.h) == 6
    torch.testing.assert_close(body.h[2].ln_1.weight, reference.h[2].ln_1.weight)
    assert not body.h[2].ln_1.bias.any()  # ImageGPT's norm has no bias: it starts at 0
    torch.testing.assert_close(body.h[2].attn.c_attn.weight, reference.h[2].attn.c_attn.weight)
    assert body.config.activation_function == "quick_gelu"
    native = pretrained_body("igpt_native", at(saved_igpt, "imagegpt"), PAPER_DROPOUT)
    assert type(native.h[0].ln_1).__name__ == "ImageGPTLayerNorm"
    model = tiny_dt(native).eval()
    assert len(block_parameter_sets(model)) == 6 * 10  # no norm biases
    assert model(*inputs()).shape == (2, 4, 3)


@pytest.mark.parametrize("block", [0, 1, 2])
def test_block_swap_copies_block_b_only(saved_gpt2, block):
    donor = pretrained_body("gpt2", at(saved_gpt2), PAPER_DROPOUT)
    torch.manual_seed(0)
    reference = random_body(TINY, PAPER_DROPOUT)
    torch.manual_seed(0)
    swapped = block_swap_body(TINY, donor, block, PAPER_DROPOUT)
    for i in range(TINY.n_layer):
        source = donor if i == block else reference
        for name, value in source.h[i].state_dict().items():
            torch.testing.assert_close(swapped.h[i].state_dict()[name], value, msg=f"{i}.{name}")
    assert swapped.h[block].attn.num_heads == 4 and swapped.h[(block + 1) % 3].attn.num_heads == 1
    with pytest.raises(ValueError, match="outside"):
        block_swap_body(TINY, donor, 3, PAPER_DROPOUT)


def test_missing_weights_offline_name_the_model_and_the_remedies(tmp_path):
    with pytest.raises(BackboneUnavailableError) as error:
        pretrained_body("gpt2", at(tmp_path / "no-such-model"), PAPER_DROPOUT)
    message = str(error.value)
    assert "gpt2" in message and "no-such-model" in message
    assert "source: local" in message and "source: pretrain" in message
