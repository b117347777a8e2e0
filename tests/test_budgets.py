"""Memory budgets of the jobs: they cover the peaks measured at the paper's shapes, grow
with the shapes and counts that drive them, and read the body shapes from where the
weights come from."""

import copy
import json
import platform

import pytest

from helpers import load_config
from modality_rl.allocator import release_freed_memory_eagerly
from modality_rl.models.families import Family
from modality_rl.probes import GRAM_MEMORY_MB
from modality_rl.bodies import BodyConfigError
from modality_rl.budgets import (MARGIN, RUNNER_MIB, BodyShape, body_shape,
                                 mutual_information_data_mb, probe_mb, table_mb, train_mb)
from modality_rl.runs import Run

# Peak RSS (MiB) measured by bench/memory.py on CPU at the paper's shapes (bench/README.md,
# "Memory of the jobs"): the paper's sample counts, every dump section at one epoch, MINE
# at 2 and 20 iterations; training with freed memory released eagerly.
MEASURED_MIB = {
    ("probe", "random"): 5024, ("probe", "gpt2"): 5972, ("probe", "igpt"): 5765,
    ("train", "random"): 3936, ("train", "gpt2"): 6342, ("train", "igpt"): 6209,
    ("table", "mutual_information"): 4503, ("table", "mutual_information 20"): 4576,
    ("table", "cka"): 688,
    ("table", "attention_distance"): 196, ("table", "gradients"): 125,
    ("table", "parameter_change"): 1605,
}
# The quick preset's jobs (GNU time, one at a time; main/hopper-medium/seed666, gpt2), which
# are small enough that the Snakemake process running them in a cluster allocation
# (RUNNER_MIB) is a large part of the job.
QUICK_MEASURED_MIB = {"train": 611, "probe": 690, "table mutual_information": 515}


def run(model: str, experiment: str = "main") -> Run:
    return Run(experiment=experiment, model=model, env="hopper", dataset="medium", seed=666)


def bench_config(mine_iterations: int = 2) -> dict:
    """config.yaml as bench/memory.py runs it: every probed section at epoch 1 of the main
    runs (attention too), MINE cut to a few iterations."""
    config = load_config()
    for analysis in ("cka", "mutual_information", "gradients", "attention_distance"):
        settings = config["analysis"][analysis]
        settings["experiment"] = "main"
        settings.pop("epochs", None)
        settings["epoch"] = 1
    config["analysis"]["mutual_information"]["iterations"] = mine_iterations
    return config


def budgets(config: dict) -> dict[str, int]:
    """Every estimate for the hopper seed-666 partition and the gpt2 run."""
    tables = {f"table {a}": table_mb(config, a, "hopper", "medium", 666)
              for a in ("cka", "mutual_information", "parameter_change", "gradients",
                        "attention_distance")}
    return {"train": train_mb(config, run("gpt2")), "probe": probe_mb(config, run("gpt2")),
            **tables, "data table": mutual_information_data_mb(config, "hopper")}


# contract: budgets. A job declares the memory it needs, from the configured shapes.
@pytest.mark.parametrize("job, what", sorted(MEASURED_MIB))
def test_budgets_cover_the_peaks_measured_at_the_paper_shapes(job, what):
    paper, bench = load_config(), bench_config()
    analysis, *iterations = what.split()
    if iterations:
        bench = bench_config(int(iterations[0]))
    budget = {"probe": lambda: probe_mb(bench, run(what)),
              "train": lambda: train_mb(paper, run(what)),
              "table": lambda: table_mb(paper if what == "attention_distance" else bench,
                                        analysis, "hopper", "medium", 666)}[job]()
    measured = MEASURED_MIB[job, what] * 2**20 / 1e6  # mem_mb counts 1e6 bytes
    runner = RUNNER_MIB * 2**20 / 1e6
    # The estimate covers the peak before its margin, and is not far above it.
    assert measured * MARGIN + runner <= budget <= 2 * measured + 500 + runner, (
        budget, measured)


@pytest.mark.parametrize("job", sorted(QUICK_MEASURED_MIB))
def test_budgets_cover_the_quick_presets_peaks_and_the_cluster_runner(job):
    budget = budgets(load_config("presets/quick.yaml"))[job]
    assert (QUICK_MEASURED_MIB[job] + RUNNER_MIB) * 2**20 / 1e6 <= budget, (job, budget)


def test_paper_configuration_budgets_fit_the_8_gb_target():
    config = load_config()
    for name, mb in budgets(config).items():
        assert 0 < mb <= 8000 * 1.25, (name, mb)  # MARGIN over an 8 GB peak at most


@pytest.mark.parametrize("key, larger", [
    ("backbones.random.n_layer", 24), ("backbones.random.n_embd", 1024),
    ("backbones.random.n_head", 16), ("probe.batch_size", 200),
    ("training.batch_size", 128), ("analysis.gradients.chunk_size", 20),
    ("analysis.mutual_information.chunk_size", 512),
    ("analysis.mutual_information.hidden", 800),
])
def test_budgets_grow_with_the_shapes_and_counts(key, larger):
    config = load_config()
    bigger = copy.deepcopy(config)
    *path, last = key.split(".")
    section = bigger
    for part in path:
        section = section[part]
    section[last] = larger
    before, after = budgets(config), budgets(bigger)
    assert all(after[name] >= before[name] for name in before), (before, after)
    grown = {name for name in before if after[name] > before[name]}
    expected = {
        "backbones.random.n_layer": {"table cka", "table mutual_information",
                                     "table parameter_change", "table attention_distance"},
        "backbones.random.n_embd": {"table mutual_information", "table parameter_change"},
        "backbones.random.n_head": {"table attention_distance"},
        "probe.batch_size": {"table mutual_information", "table attention_distance",
                             "data table"},
        "training.batch_size": {"train"},
        "analysis.gradients.chunk_size": {"probe"},
        "analysis.mutual_information.chunk_size": {"table mutual_information"},
        "analysis.mutual_information.hidden": {"table mutual_information", "data table"},
    }[key]
    assert expected <= grown, (key, grown)


def gpt2_shape(n_layer: int, n_embd: int, n_head: int, activation: str) -> BodyShape:
    return BodyShape(family=Family, config=Family.shape_config(
        n_layer=n_layer, n_embd=n_embd, n_head=n_head, activation=activation))


def test_a_bigger_body_needs_more_for_training_and_probing():
    small = gpt2_shape(3, 128, 1, "relu")
    large = gpt2_shape(12, 768, 12, "gelu_new")
    assert small.block_parameters < large.block_parameters
    assert large.block_parameters == 12 * 7_087_872  # GPT-2's blocks: 85.05 M parameters
    tiny, paper = load_config("presets/quick.yaml"), load_config()
    for model in ("random", "gpt2", "igpt"):
        assert train_mb(tiny, run(model)) < train_mb(paper, run(model))
        # The cosines' pass holds at most its gradients, not its whole 2 GB allowance.
        assert probe_mb(tiny, run(model)) < GRAM_MEMORY_MB < probe_mb(paper, run(model))


def test_body_shapes_come_from_where_the_weights_come_from(tmp_path):
    config = load_config()
    assert body_shape(config, "random").dims == (12, 768, 1, "relu")
    assert body_shape(config, "gpt2_block3") == body_shape(config, "random")
    assert body_shape(config, "gpt2").dims == (12, 768, 12, "gelu_new")  # the pinned config
    assert body_shape(config, "igpt").dims == (24, 512, 8, "quick_gelu")
    assert body_shape(config, "igpt").family.model_class == "GPT2Model"  # the paper's iGPT
    config["backbones"]["igpt_native"] = {**config["backbones"]["igpt"], "load_as": "imagegpt"}
    native = body_shape(config, "igpt_native")
    assert native.dims == body_shape(config, "igpt").dims
    assert native.block_parameters == body_shape(config, "igpt").block_parameters - 24 * 2 * 512
    quick = load_config("presets/quick.yaml")  # source: pretrain, the pipeline's own
    assert body_shape(quick, "igpt").dims == (6, 64, 4, "quick_gelu")
    assert body_shape(quick, "gpt2").dims == (3, 128, 4, "gelu_new")
    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "gpt_neox", "num_hidden_layers": 2, "hidden_size": 32,
         "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu"}))
    config["backbones"]["pythia"] = {"source": "local", "name": str(tmp_path)}
    pythia = body_shape(config, "pythia")
    assert pythia.dims == (2, 32, 2, "gelu") and pythia.hooked_layers == 18
    assert pythia.block_parameters == 2 * (4 * 32 * 32 + 4 * 32 + 2 * 32 * 64 + 64 + 32 + 4 * 32)
    # A local directory that is not there stops the plan (configuration.path_problems).
    config["backbones"]["pythia"]["name"] = str(tmp_path / "not_yet")
    with pytest.raises(BodyConfigError, match=r"backbones.pythia.name: .*not_yet"):
        body_shape(config, "pythia")


def test_freed_memory_is_released_eagerly_under_glibc():
    assert release_freed_memory_eagerly() == (platform.libc_ver()[0] == "glibc")
