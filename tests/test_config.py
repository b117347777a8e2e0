"""Configuration: the shipped files validate, and a bad value stops Snakemake naming its key."""

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from helpers import REPO, load_config, run_snakemake
from modality_rl.configuration import config_schema, reference_problems

SCHEMA = config_schema(REPO / "schemas" / "config.schema.yaml")


def load(name):
    return yaml.safe_load((REPO / name).read_text())


def test_paper_config_and_presets_validate():
    jsonschema.validate(load_config(), SCHEMA)
    for preset in ("presets/quick.yaml", "presets/paper_shapes.yaml"):
        jsonschema.validate(load_config(preset), SCHEMA)
        assert reference_problems(load_config(preset)) == []


# contract: presets. config.yaml is the paper; a preset changes sizes, grid and sources.
def test_paper_shapes_keeps_every_shape_and_count_of_the_paper():
    """Real bodies, the paper's probe batch, gradient counts, MINE network and batch; every
    experiment and model. Only steps, the grid and sources are cut."""
    paper, shapes = load_config(), load_config("presets/paper_shapes.yaml")
    assert shapes["backbones"]["random"] == paper["backbones"]["random"]
    architectures = {key: json.loads((REPO / shapes["backbones"][key]["name"] / "config.json")
                                     .read_text()) for key in ("gpt2", "igpt")}
    assert [(a["n_layer"], a["n_embd"], a["n_head"]) for a in architectures.values()] == [
        (12, 768, 12), (24, 512, 8)]
    for section in ("probe", "datasets", "models"):
        assert shapes[section] == paper[section], section
    assert shapes["training"]["batch_size"] == paper["training"]["batch_size"] == 64
    for key in ("norm_samples", "cosine_samples", "max_norm"):
        assert shapes["analysis"]["gradients"][key] == paper["analysis"]["gradients"][key]
    for key in ("hidden", "hidden_layers", "batch_size"):
        assert (shapes["analysis"]["mutual_information"][key]
                == paper["analysis"]["mutual_information"][key])
    assert shapes["experiments"].keys() == paper["experiments"].keys()
    assert shapes["experiments"]["main"]["models"] == paper["experiments"]["main"]["models"]


def test_paper_config_holds_the_paper_setup():
    config = load("config.yaml")
    assert config["training"]["batch_size"] == 64 and config["training"]["warmup_steps"] == 5000
    assert config["seeds"] == [666, 42]
    assert [e["keep_final_checkpoint"] for e in config["experiments"].values()] == [
        True, True, False, False]
    assert config["experiments"]["block_swap"]["blocks"] == list(range(12))
    assert config["experiments"]["no_grad_clip"]["grad_clip"] is None
    assert config["evaluation"]["targets"]["hopper"] == [3600, 1800]


def test_quick_preset_overrides_only_sizes_and_sources():
    """Every leaf the preset sets is a source choice or a size: a number (counts, and the
    MINE step size that makes up for fewer iterations) or a list of counts or epochs."""
    def leaves(node, path=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, path + (key,))
        else:
            yield path, node

    for path, value in leaves(load("presets/quick.yaml")):
        is_size = isinstance(value, (int, float)) or (
            isinstance(value, list) and all(isinstance(v, int) or v == "final" for v in value))
        is_source = path[-1] in ("source", "modality")  # modality: what a stand-in learns
        assert is_size or is_source, f"{'.'.join(path)} is neither a size nor a source"


@pytest.mark.parametrize("override, key, problem", [
    ("envs: [hopper, ant]\n", "envs.1", "'ant' is not one of"),
    ("models: [random, bert]\n", "models", "'bert' is not a key of backbones, whose entry "
     "of a model's name is its body"),
    ("probe: {batch_size: -3}\n", "probe.batch_size", "-3 is less than the minimum of 1"),
    ("training: {steps_per_epoch: many}\n", "training.steps_per_epoch",
     "'many' is not of type 'integer'"),
    ("data: {synthetic: {transitions: {medium: -1}}}\n",
     "data.synthetic.transitions.medium", "less than the minimum"),
    ("evaluaton: {episodes: 5}\n", "(top level)", "'evaluaton' was unexpected"),
    ("training: {matmul_precision: fast}\n", "training.matmul_precision",
     "'fast' is not one of ['highest', 'high', 'medium']"),
    ("training: {compile: maybe}\n", "training.compile", "'maybe' is not of type"),
    ("data: {d4rl: {hub: {revision: main}}}\n", "data.d4rl.hub.revision", "'main' does not match"),
    # Cross-references, which the schema cannot express:
    ("analysis: {cka: {experiment: mian}}\n", "analysis.cka.experiment",
     "'mian' is not an experiment; experiments are ['main', 'no_context', 'block_swap'"),
    ("analysis: {attention_distance: {epochs: [0, 41]}}\n", "analysis.attention_distance",
     "analysis epoch 41 of experiment 'no_context' (hopper) is 41, but the run has only 40"),
    ("experiments: {block_swap: {blocks: [0, 12]}}\n", "experiments.block_swap.blocks",
     "block 12 is not one of the 12 blocks both the receiver backbones.random and the donor "
     "backbones.gpt2 have"),
    ("experiments: {block_swap: {donor: igpt}}\n", "experiments.block_swap",
     "the donor backbones.igpt is 512 wide, the receiver backbones.random 768"),
    ("backbones: {tiny: {source: random, architecture: llama, n_layer: 2, n_embd: 768, "
     "n_head: 1}}\nexperiments: {block_swap: {receiver: tiny}}\n", "experiments.block_swap",
     "the donor backbones.gpt2 has gpt2 blocks (GPT2Model), the receiver backbones.tiny "
     "llama blocks (LlamaModel)"),
    ("models: [random, gpt2_block3]\nbackbones: {gpt2_block3: {n_layer: 1, n_embd: 8, "
     "n_head: 1}}\n", "backbones.gpt2_block3", "may not end in _block<b>"),
    # Files the configuration names, checked before a job could delete a good output:
    ("backbones: {gpt2: {source: local, name: /no/such/gpt2}}\n", "backbones.gpt2.name",
     "'/no/such/gpt2' is not a directory"),
    ("backbones: {gpt2: {source: local, name: resources}}\n", "backbones.gpt2.name",
     "'resources' holds no config.json; it must be a save_pretrained directory"),
    ("models: [random, mine]\nbackbones: {mine: {source: architecture, name: resources/"
     "bert, seed: 0}}\n", "backbones.mine.name", "'resources/bert' is not a directory"),
    ("backbones: {igpt: {source: architecture, name: resources, seed: 0}}\n",
     "backbones.igpt.name", "'resources' holds no config.json"),
    ("data: {d4rl: {local_dir: config.yaml}}\n", "data.d4rl.local_dir",
     "'config.yaml' is not a directory"),
])
def test_snakemake_stops_on_bad_config_naming_the_key(workflow_copy, override, key, problem):
    """A bad configuration stops Snakemake before it plans anything, in a few lines that
    name the key (not Snakemake's 600-line dump of the schema)."""
    (workflow_copy / "bad.yaml").write_text(override)
    result = run_snakemake(workflow_copy, "-n", "--cores", "1", "--configfile", "bad.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"config key {key}: " in output and problem in output, output[-2000:]
    assert "Job stats" not in output  # stopped before planning any job
    assert len(output.splitlines()) < 15, output


def test_every_env_needs_its_epochs_and_targets():
    """Presets merge into config.yaml, so only an edited config.yaml can lose an env's key."""
    config = load_config()
    del config["experiments"]["block_swap"]["epochs"]["walker2d"]
    del config["evaluation"]["targets"]["hopper"]
    assert reference_problems(config) == [
        "config key evaluation.targets has no 'hopper' (envs lists it)",
        "config key experiments.block_swap.epochs has no 'walker2d' (envs lists it)"]
    assert reference_problems(load_config()) == []
    assert reference_problems(load_config("presets/quick.yaml")) == []


def planned_jobs(workflow: Path, *args: str) -> tuple[dict[str, int], str]:
    """`snakemake -n`'s job counts per rule, and its output."""
    result = run_snakemake(workflow, "-n", "--cores", "all", *args)
    assert result.returncode == 0, result.stderr
    counts = {line.split()[0]: int(line.split()[1]) for line in result.stdout.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    return counts, result.stdout


def test_paper_config_plans_the_d4rl_downloads(workflow_copy):
    counts, _ = planned_jobs(workflow_copy)
    # medium for training, random and expert for the paper's normalised score: 3 envs each.
    assert counts["fetch_d4rl_dataset"] == 9
    assert counts["probe_batch"] == 3 and counts["reference_returns"] == 3


def test_a_mirror_only_config_plans_no_random_datasets(workflow_copy):
    # The Hub mirror has no random sets: the paper's convention is reported missing instead.
    (workflow_copy / "mirror.yaml").write_text("data: {d4rl: {sources: [hub]}}\n")
    counts, plan = planned_jobs(workflow_copy, "--configfile", "mirror.yaml")
    assert counts["fetch_d4rl_dataset"] == 6 and counts["reference_returns"] == 3
    assert "_random-v2.hdf5" not in plan and "_expert-v2.hdf5" in plan


def test_every_hub_revision_in_the_paper_config_is_a_full_commit_hash():
    def revisions(node, path=()):
        for key, value in node.items():
            if key == "revision":
                yield ".".join((*path, key)), value
            elif isinstance(value, dict):
                yield from revisions(value, (*path, key))

    found = dict(revisions(load("config.yaml")))
    assert set(found) == {"backbones.gpt2.revision", "backbones.igpt.revision",
                          "data.d4rl.hub.revision"}
    for key, revision in found.items():
        assert re.fullmatch(r"[0-9a-f]{40}", str(revision)), f"{key}: {revision!r}"


def test_a_local_run_bounds_the_memory_of_concurrent_jobs_by_the_machines(workflow_copy):
    """Every rule declares mem_mb; unless --resources mem_mb=... says otherwise the total is
    the machine's memory, also when --resources names other resources (a GPU count)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    for extra, bound in (((), total), (("mem_mb=3000",), 3000)):
        result = run_snakemake(workflow_copy, "results/paper_tables/table3.md", "--cores", "1",
                               "--configfile", "presets/quick.yaml", "--forceall",
                               "--resources", "gpu=2", *extra, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f'mem_mb=Resource("mem_mb", {bound})' in result.stdout + result.stderr


def test_an_unsupported_architecture_stops_the_plan_naming_the_supported_ones(workflow_copy):
    body = workflow_copy / "bert"
    body.mkdir()
    (body / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}')
    (workflow_copy / "bad.yaml").write_text(
        "models: [random, mine]\nbackbones: {mine: {source: local, name: bert}}\n")
    result = run_snakemake(workflow_copy, "-n", "--cores", "1", "--configfile", "bad.yaml")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Job stats" not in output
    assert ("config key backbones.mine: model_type 'bert' has no adapter; supported: "
            "['gpt2', 'gpt_neo', 'gpt_neox', 'imagegpt', 'llama', 'qwen2']") in output, output
