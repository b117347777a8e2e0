"""A slice of presets/paper_shapes.yaml on CPU: the paper's bodies at their real shapes
(random 12 x 768 with 1 head, gpt2 12 x 768 with 12 heads, igpt 24 x 512 with 8 heads;
gpt2 and igpt with RANDOM weights built from resources/architectures), run from the
data to the figures of every analysis.

The slice: Hopper, seed 666, the main and no_context runs (igpt's no_context run added,
so that an 8-head body's attention is probed) and the block swap of block 0, one epoch
each; a few windows and probe samples, so that it stays a few minutes of CI. The full
preset is measured as a benchmark (bench/README.md, "The paper's shapes end to end").
"""

from __future__ import annotations

import h5py
import pandas as pd
import pytest
import yaml

from helpers import copy_workflow, run_snakemake, seed_inputs
from modality_rl.analyses import probe_dump_path
from modality_rl.runs import Run

pytestmark = pytest.mark.slow

PRESET = "presets/paper_shapes.yaml"
# (blocks, heads) of each body.
SHAPES = {"random": (12, 1), "gpt2": (12, 12), "igpt": (24, 8)}
LAYERS_PER_BLOCK = 9  # ln_1, attn.c_attn, attn.c_proj, attn.resid_dropout, ln_2, ...
PARAMETERS_PER_BLOCK = 12  # ln_1.{weight,bias}, attn.c_attn.{weight,bias}, ...
TOKENS = 3  # the last step's return, state and action
PROBE_SAMPLES, NORM_SAMPLES, COSINE_SAMPLES = 8, 4, 3
SLICE = {
    "experiments": {"main": {"epochs": 1},
                    "no_context": {"models": ["random", "gpt2", "igpt"], "epochs": 1},
                    "block_swap": {"blocks": [0]}},
    "training": {"batch_size": 4, "steps_per_epoch": 1, "warmup_steps": 1},
    "evaluation": {"episodes": 1, "max_episode_steps": 5},
    "probe": {"batch_size": PROBE_SAMPLES},
    "analysis": {"gradients": {"norm_samples": NORM_SAMPLES,
                               "cosine_samples": COSINE_SAMPLES, "chunk_size": 2},
                 "mutual_information": {"iterations": 1, "batch_size": 4},
                 "attention_distance": {"epochs": [0, "final"]}},
}
# CKA, MINE (hidden and no_context), gradients, the block swap, attention distance.
FIGURES = ("fig01", "fig02", "fig05", "fig09", "fig10", "fig17")
TABLES = ("cka_pre_post", "cka_within_model", "mutual_information_hidden",
          "mutual_information_no_context", "gradient_norms", "gradient_norm_per_parameter",
          "attention_distance")


@pytest.fixture(scope="module")
def paper_slice(quick_data, tmp_path_factory):
    # Snakemake's records come along: the probe batches (another size here) are remade.
    root = seed_inputs(quick_data, copy_workflow(tmp_path_factory.mktemp("paper_shapes")))
    (root / "slice.yaml").write_text(yaml.safe_dump(SLICE))
    targets = [f"results/figures/{figure}.pdf" for figure in FIGURES]
    targets += [f"results/tables/{table}.csv" for table in TABLES]
    result = run_snakemake(root, *targets, "--cores", "2", "--configfile", PRESET,
                           "slice.yaml", timeout=1800)
    (root / "snakemake.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return root


def dump(root, experiment: str, model: str, epoch: int) -> h5py.File:
    run = Run(experiment=experiment, model=model, env="hopper", dataset="medium", seed=666)
    return h5py.File(root / probe_dump_path(run, epoch))


def table(root, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "results" / "tables" / f"{name}.csv")


def test_dumps_have_the_bodies_layers_and_heads(paper_slice):
    for model, (blocks, heads) in SHAPES.items():
        with dump(paper_slice, "main", model, 1) as f:
            assert f.attrs["n_blocks"] == blocks
            assert len(f["layers"]) == blocks * LAYERS_PER_BLOCK  # 108 or 216
            width = f.attrs["width"]
            assert f["layers/0.ln_1"].shape == (PROBE_SAMPLES, TOKENS, width)
            assert len(f["gradients/parameter_names"]) == blocks * PARAMETERS_PER_BLOCK
        with dump(paper_slice, "no_context", model, 1) as f:
            assert len(f["attention"]) == blocks
            # The probe batch's windows (K = 20: 60 tokens) whatever the run's K.
            assert f["attention/0"].shape == (PROBE_SAMPLES, heads, 60, 60)


def test_tables_have_a_row_per_layer_block_and_sample(paper_slice):
    layers = {model: blocks * LAYERS_PER_BLOCK for model, (blocks, _) in SHAPES.items()}
    cka = table(paper_slice, "cka_pre_post")
    assert cka.groupby("model").size().to_dict() == {m: TOKENS * n for m, n in layers.items()}
    within = table(paper_slice, "cka_within_model")
    epochs = 2  # 0 and the final epoch
    assert within.groupby("model").size().to_dict() == {
        m: epochs * TOKENS * n * n for m, n in layers.items()}

    hidden = table(paper_slice, "mutual_information_hidden")
    # depth shallow/middle/deep: blocks 0, n/2 and n - 1 of each body.
    assert {m: sorted(g.unique()) for m, g in hidden.groupby("model")["block"]} == {
        m: [0, blocks // 2, blocks - 1] for m, (blocks, _) in SHAPES.items()}
    no_context = table(paper_slice, "mutual_information_no_context")
    assert no_context.groupby("model")["block"].nunique().to_dict() == {
        m: blocks for m, (blocks, _) in SHAPES.items()}

    norms = table(paper_slice, "gradient_norms")
    assert norms.groupby("model").size().to_dict() == {m: NORM_SAMPLES for m in SHAPES}
    per_parameter = table(paper_slice, "gradient_norm_per_parameter")
    assert per_parameter.groupby("model").size().to_dict() == {
        m: blocks * PARAMETERS_PER_BLOCK for m, (blocks, _) in SHAPES.items()}

    attention = table(paper_slice, "attention_distance")
    methods = attention["method"].nunique()
    assert attention.groupby("model").size().to_dict() == {
        m: epochs * methods * blocks * PROBE_SAMPLES for m, (blocks, _) in SHAPES.items()}


def test_the_slice_draws_every_analysis_figure_and_says_the_weights_are_random(paper_slice):
    for figure in FIGURES:
        assert (paper_slice / "results" / "figures" / f"{figure}.pdf").stat().st_size > 0
    log = (paper_slice / "results/logs/pretrain/architecture/gpt2.log").read_text()
    assert "RANDOM weights of the gpt2 architecture (12 layers, 768 wide, 12 heads)" in log
    training = (paper_slice / "results/logs/train/main/igpt/hopper-medium/seed666.log")
    assert "RANDOM weights" in training.read_text()
