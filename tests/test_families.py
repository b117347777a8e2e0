"""contract: bodies. Every family's adapter (modality_rl.models.families): a random body,
a save_pretrained directory loaded with every weight checked, the Decision Transformer's
changes to it, what the probes hook, and the shape planning reads from config.json."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import PAPER_DROPOUT, window_batch
from modality_rl.models.backbones import (BodyLoadError, PretrainedLocation, RandomBodyConfig,
                                          block_swap_body, pretrained_body, random_body)
from modality_rl.models.decision_transformer import DecisionTransformer, block_parameter_sets
from modality_rl.models.families import (ARCHITECTURES, Family, UnsupportedFamilyError,
                                         body_family, family_of)
from modality_rl.probes.activations import ACTIVATION_SECTIONS, record_activations
from modality_rl.probes.gradients import GradientConfig, gradient_probe

ROTARY = ("gpt_neox", "llama", "qwen2")
# A tiny body of each family: 2 blocks, 32 wide, 4 heads (2 key-value heads where
# grouped-query attention applies).
EXTRA = {"llama": {"num_key_value_heads": 2}, "qwen2": {"num_key_value_heads": 2}}


def tiny(architecture: str, n_layer: int = 2) -> RandomBodyConfig:
    return RandomBodyConfig(n_layer=n_layer, n_embd=32, n_head=4, architecture=architecture,
                            config=EXTRA.get(architecture, {}))


def saved(tmp_path, architecture: str, seed: int = 7) -> str:
    """A tiny causal LM of the family, saved as save_pretrained writes a hub model."""
    family = ARCHITECTURES[architecture]
    torch.manual_seed(seed)
    config = family.lm_config(50, 64, n_layer=2, n_embd=32, n_head=4)
    for key, value in EXTRA.get(architecture, {}).items():
        setattr(config, key, value)
    path = tmp_path / architecture
    family.transformers_class(family.lm_class)(config).save_pretrained(path)
    return str(path)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_a_random_body_of_every_family_runs_and_is_probed(architecture):
    torch.manual_seed(0)
    body = random_body(tiny(architecture), PAPER_DROPOUT)
    family = body_family(body)
    model = DecisionTransformer(body, 11, 3)
    batch = window_batch(5, 4)
    recorded = record_activations(model, batch, ACTIVATION_SECTIONS)
    assert recorded.n_blocks == 2 and recorded.width == 32
    assert len(recorded.layers) == 2 * len(family.hooked)
    assert all(a.shape[:2] == (5, 3) for a in recorded.layers.values())
    assert [o.shape for o in recorded.block_outputs] == [(5, 12, 32)] * 2
    assert [a.shape for a in recorded.attention] == [(5, 4, 12, 12)] * 2
    pseudo = recorded.pseudo_attention[0]
    assert pseudo.shape == (5, 12, 12) and np.allclose(np.triu(pseudo, 1), 0)
    # The token embedding is one frozen zero row; a learned position embedding is zero.
    embedding = model.transformer.get_input_embeddings().weight
    assert embedding.shape == (1, 32) and not embedding.any() and not embedding.requires_grad
    if family.position_embedding:
        positions = getattr(model.transformer, family.position_embedding).weight
        assert not positions.any() and not positions.requires_grad
    else:
        assert architecture in ROTARY
    # Per-sample gradients over the family's block parameters.
    gradients = gradient_probe(model, window_batch(4, 4), GradientConfig(
        max_norm=0.25, norm_samples=4, cosine_samples=2, chunk_size=2, seed=0))
    assert len(gradients.parameter_names) == len(block_parameter_sets(model))
    assert np.isfinite(gradients.sample_norms).all()


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_block_parameters_planning_counts_are_the_modules(architecture):
    """budgets reads the count from config.json; it is what the module holds."""
    body = random_body(tiny(architecture), PAPER_DROPOUT)
    family = body_family(body)
    config = body.config.to_dict()
    assert family.block_parameters(config) == sum(
        p.numel() for p in family.body_blocks(body)[0].parameters())
    assert family.size(config, "n_layer") == 2 and family.size(config, "n_embd") == 32


@pytest.mark.parametrize("architecture", ["gpt2", "gpt_neo", "gpt_neox", "llama", "qwen2"])
def test_a_saved_body_of_every_family_loads_every_weight(tmp_path, architecture):
    path = saved(tmp_path, architecture)
    body = pretrained_body("mine", PretrainedLocation(name_or_path=path), PAPER_DROPOUT)
    family = ARCHITECTURES[architecture]
    assert type(body).__name__ == family.model_class
    reference = family.transformers_class(family.lm_class).from_pretrained(path)
    expected = dict(reference.named_parameters())
    for name, value in family.body_blocks(body).named_parameters():
        (full,) = [key for key in expected if key.endswith(f"{family.blocks}.{name}")]
        torch.testing.assert_close(value, expected[full], msg=name)
    assert body.config._attn_implementation == "eager"


def test_a_gpt_neox_directory_loaded_as_gpt2_stops_naming_the_missing_weights(tmp_path):
    """The break-it case: a Pythia-style directory given as a GPT-2 body used to train
    on freshly initialised weights."""
    path = saved(tmp_path, "gpt_neox")
    location = PretrainedLocation(name_or_path=path, load_as="gpt2")
    with pytest.raises(BodyLoadError) as error:
        pretrained_body("gpt2", location, PAPER_DROPOUT)
    message = str(error.value)
    assert message.startswith(f"backbones.gpt2: '{path}' (revision None) does not fill a gpt2")
    assert "weights missing from the checkpoint: ['h.0.attn.c_attn.bias'" in message
    assert "checkpoint keys the body has no place for" in message and "load_as" in message


def test_imagegpt_loads_into_gpt2_blocks_by_default_and_natively_on_request(tmp_path):
    path = saved(tmp_path, "imagegpt")
    paper = pretrained_body("igpt", PretrainedLocation(name_or_path=path), PAPER_DROPOUT)
    assert type(paper).__name__ == "GPT2Model" and not paper.h[0].ln_1.bias.any()
    native = pretrained_body("igpt", PretrainedLocation(name_or_path=path, load_as="imagegpt"),
                             PAPER_DROPOUT)
    assert type(native).__name__ == "ImageGPTModel"


def test_an_unsupported_model_type_names_the_supported_ones():
    with pytest.raises(UnsupportedFamilyError, match=r"model_type 'bert' has no adapter; "
                                                     r"supported: \['gpt2', 'gpt_neo'"):
        family_of("bert")
    assert family_of("imagegpt", "imagegpt").model_class == "ImageGPTModel"
    assert family_of("imagegpt").model_class == "GPT2Model"


def test_block_swap_needs_one_family_and_width(tmp_path):
    donor = pretrained_body("llama", PretrainedLocation(name_or_path=saved(tmp_path, "llama")),
                            PAPER_DROPOUT)
    with pytest.raises(ValueError, match="one family: the receiver is gpt2, the donor llama"):
        block_swap_body(tiny("gpt2"), donor, 0, PAPER_DROPOUT)
    torch.manual_seed(0)
    swapped = block_swap_body(tiny("llama"), donor, 1, PAPER_DROPOUT)
    torch.testing.assert_close(swapped.layers[1].mlp.up_proj.weight,
                               donor.layers[1].mlp.up_proj.weight)


def test_the_paper_random_body_is_the_gpt2_body_it_always_was():
    """Same seed, same weights: the adapter builds Table 3's body as before."""
    from transformers import GPT2Config, GPT2Model

    cfg = RandomBodyConfig(n_layer=2, n_embd=32, n_head=1, activation="relu")
    torch.manual_seed(4)
    body = random_body(cfg, PAPER_DROPOUT)
    torch.manual_seed(4)
    before = GPT2Model(GPT2Config(
        vocab_size=1, n_positions=1024, n_embd=32, n_layer=2, n_head=1, n_inner=128,
        activation_function="relu", embd_pdrop=0.1, attn_pdrop=0.1, resid_pdrop=0.2,
        bos_token_id=None, eos_token_id=None, attn_implementation="eager"))
    for (name, value), (_, old) in zip(body.state_dict().items(), before.state_dict().items()):
        torch.testing.assert_close(value, old, msg=name)
    assert body_family(body) is Family and body.h[0].mlp.dropout.p == 0.2


# -- a body of every family in the quick preset, end to end ---------------------------------
BODIES = {"gpt2_small": "gpt2", "igpt_native": "imagegpt", "neo": "gpt_neo",
          "pythia": "gpt_neox", "llama": "llama"}


def bodies_preset(project, directories: dict[str, str]) -> dict:
    """The quick preset on Hopper, seed 666, with the bodies of BODIES beside the paper's
    three in the main and no-context experiments, each a local save_pretrained directory."""
    import yaml

    quick = yaml.safe_load((project / "presets" / "quick.yaml").read_text())
    backbones = {name: {"source": "local", "name": directories[name]} for name in BODIES}
    backbones["igpt_native"]["load_as"] = "imagegpt"
    backbones["gpt2_small"]["label"] = "GPT2 small"
    models = ["random", "gpt2", "igpt", *BODIES]
    experiments = quick["experiments"]
    experiments["main"]["models"] = models
    experiments["no_context"]["models"] = ["random", "gpt2", *BODIES]
    experiments["block_swap"]["blocks"] = [0]
    return {**quick, "envs": ["hopper"], "seeds": [666], "models": models,
            "backbones": {**quick["backbones"], **backbones}, "experiments": experiments}


@pytest.mark.slow
def test_a_body_of_every_family_trains_is_probed_and_appears_in_every_table_and_figure(
        quick_data, tmp_path):
    import pandas as pd
    import yaml

    from helpers import copy_workflow, run_snakemake, seed_inputs

    project = seed_inputs(quick_data, copy_workflow(tmp_path / "project"))
    directories = {name: saved(tmp_path / "bodies", family) for name, family in BODIES.items()}
    (project / "bodies.yaml").write_text(yaml.safe_dump(bodies_preset(project, directories)))
    result = run_snakemake(project, "--cores", "2", "--configfile", "bodies.yaml",
                           timeout=3000)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    tables = project / "results" / "tables"
    for table, experiment_models in [("cka_pre_post", 8), ("mutual_information_hidden", 8),
                                     ("parameter_change", 8), ("gradient_norms", 8),
                                     ("attention_distance_gap", 7)]:
        models = set(pd.read_csv(tables / f"{table}.csv")["model"])
        assert set(BODIES) <= models and len(models) == experiment_models, (table, models)
    pythia = pd.read_csv(tables / "cka_within_model.csv").query("model == 'pythia'")
    assert set(pythia["layer_a"]) >= {"0.input_layernorm", "1.post_mlp_dropout"}
    table1 = (project / "results/paper_tables/table1.md").read_text()
    assert "GPT2 small (paper)" in table1 and "pythia (published)" in table1
    for model in BODIES:  # Fig. 13's panel of each body, in a file of its own
        assert (project / f"results/figures/models/fig13_{model}.pdf").stat().st_size > 0
    assert not (project / "results/figures/fig13_pythia.pdf").exists()


def test_a_pretrained_stand_in_of_another_family_is_planned_beside_the_papers(workflow_copy):
    """source: pretrain in any family: the same corpus, a Llama's own directory."""
    import yaml

    from helpers import run_snakemake

    (workflow_copy / "llama.yaml").write_text(yaml.safe_dump({
        "models": ["random", "gpt2", "igpt", "tiny_llama"],
        "backbones": {"tiny_llama": {"source": "pretrain", "modality": "language",
                                     "architecture": "llama"}},
        "experiments": {"main": {"models": ["random", "gpt2", "igpt", "tiny_llama"]}}}))
    result = run_snakemake(workflow_copy, "-n", "--cores", "1", "--configfile",
                           "presets/quick.yaml", "llama.yaml", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "output: results/pretrained/language_llama" in output
    assert '"modality": "language", "pretraining": {' in output
    assert '"architecture": "llama"' in output
    assert "results/runs/main/tiny_llama/hopper-medium/seed666/metrics.csv" in output
