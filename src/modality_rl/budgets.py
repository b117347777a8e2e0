"""Memory of the jobs: each job kind's peak (MB) estimated from the configured shapes, for
the `mem_mb` its rule declares (the jobs give freed memory back at once: allocator).

Snakemake runs at most as many jobs side by side as `--resources mem_mb=<the machine's>`
allows, so a rule declares what its job can peak at. Each estimate adds the job's large
allocations, counted from the configuration (body shapes, probe batch, MINE settings,
gradient counts) in 4-byte floats, to the resident size of a job process before it
allocates anything, and is then raised by MARGIN. The coefficients were measured on CPU
at the paper's shapes (bench/memory.py; bench/README.md, "Memory of the jobs"), where
every estimate is above its measured peak; tests/test_budgets.py checks that they grow
with the shapes. On a GPU the tensors live on the device and the host peaks lower.

Imports no torch: the Snakefile plans with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modality_rl.analyses import ANALYSES, analysed_runs, probe_sections
from modality_rl.bodies import backbone_of, body_config
from modality_rl.data.datasets import REPLAYS, STITCHED
from modality_rl.envs import env_spec
from modality_rl.models.families import Family
from modality_rl.probes import GRAM_MEMORY_MB
from modality_rl.runs import Run

# Sizes are counted in MiB (as RSS is reported) and declared in Snakemake's mem_mb (1e6 B).
MIB = 2**20
FLOAT = 4  # bytes
MARGIN = 1.25  # allocator slack and library versions
TORCH_JOB_MIB = 450  # a job process that imported torch and transformers
TABLE_JOB_MIB = 130  # a job process that imported pandas and h5py, not torch
# On a cluster the executor runs a Snakemake process inside each job's allocation, which
# parses the workflow and starts the job from there: 200 MiB measured (the quick preset's
# and the paper's DAG). Declared on top, so that sbatch --mem holds both.
RUNNER_MIB = 250
# Activations a GPT-2 block keeps for its backward pass, per token: n_embd-wide tensors
# (by MLP activation: gelu_new keeps the most for its backward), and ATTENTION_MAPS
# (tokens x tokens) maps per head. Fitted to the training jobs of the random, gpt2 and
# igpt bodies (64 windows, K = 20).
UNITS_PER_TOKEN = {"relu": 12, "quick_gelu": 20, "gelu_new": 27}
ATTENTION_MAPS = 4
VMAP_OVERHEAD = 1.4  # vmap's per-sample gradients of a chunk, over their own size
MINE_STATE_COPIES = 5.6  # a MINE parameter: itself, its gradient, Adam's two moments, activations
TABLE_ROW_BYTES = 1100  # a row of a CKA or attention table in pandas (strings included)
# Transitions of the largest D4RL v2 file of each dataset among the three envs (medium,
# expert, random: 1M; medium-replay: Hopper's 402k; full-replay, medium-expert: 2M).
D4RL_TRANSITIONS = {"random": 1_000_000, "medium": 1_000_000, "expert": 1_000_000,
                    "medium-replay": 402_000, "medium-expert": 2_000_000,
                    "full-replay": 2_000_000}


@dataclass(frozen=True, kw_only=True)
class BodyShape:
    """A body as planning sees it: its family's adapter and its config.json keys."""

    family: type[Family]
    config: dict

    @property
    def n_layer(self) -> int:
        return self.family.size(self.config, "n_layer")

    @property
    def n_embd(self) -> int:
        return self.family.size(self.config, "n_embd")

    @property
    def n_head(self) -> int:
        return self.family.size(self.config, "n_head")

    @property
    def activation(self) -> str:
        return self.config.get(self.family.keys["activation"]) or self.family.default_activation

    @property
    def dims(self) -> tuple[int, int, int, str]:
        return self.n_layer, self.n_embd, self.n_head, self.activation

    @property
    def block_parameters(self) -> int:
        """Every block's parameters (12 d^2 + 13 d each for GPT-2; families.Family)."""
        return self.n_layer * self.family.block_parameters(self.config)

    @property
    def hooked_layers(self) -> int:
        """The modules the probes hook, over all blocks (108 for GPT-2's 12 blocks)."""
        return self.n_layer * len(self.family.hooked)

    @property
    def hooked_width(self) -> int:
        """One block's hooked outputs' widths, summed (17 d for GPT-2)."""
        return self.family.hooked_width(self.config)

    def parameters(self, max_episode_steps: int) -> int:
        """The whole Decision Transformer: the blocks, the time embedding, the frozen
        position embedding (1024 rows) and a few d-wide rows more."""
        return self.block_parameters + (max_episode_steps + 1024 + 64) * self.n_embd

    def activations(self, windows: int, tokens: int) -> int:
        """Floats the blocks keep for a backward pass over `windows` windows."""
        units = UNITS_PER_TOKEN.get(self.activation, max(UNITS_PER_TOKEN.values()))
        per_block = windows * tokens * (units * self.n_embd
                                        + ATTENTION_MAPS * self.n_head * tokens)
        return self.n_layer * per_block


def body_shape(config: dict, model: str) -> BodyShape:
    """The body a model trains (bodies.body_config: its entry's sizes, the pipeline's
    pre-training sizes, or its config.json)."""
    family, body = body_config(config, backbone_of(config, model))
    return BodyShape(family=family, config=body)


def _declared(floats: float, process_mib: int) -> int:
    """mem_mb to declare for a job process of `process_mib` that allocates `floats`, and
    the Snakemake process that runs it in a cluster allocation."""
    job_mib = (process_mib + floats * FLOAT / MIB) * MARGIN
    return math.ceil((job_mib + RUNNER_MIB) * MIB / 1e6)


def dataset_transitions(config: dict, dataset: str) -> int:
    """At most how many transitions the dataset a run trains on has: a synthetic one's
    configured rollouts (a replay buffer: the behaviour policy's training steps; a stitched
    one: its parts'), else D4RL's."""
    if config["data"]["source"] != "synthetic":
        return D4RL_TRANSITIONS[dataset]
    synthetic = config["data"]["synthetic"]
    if dataset in REPLAYS:
        return synthetic["behaviour_policy"]["total_steps"]
    if dataset in STITCHED:
        return sum(synthetic["transitions"][part] for part in STITCHED[dataset])
    return synthetic["transitions"][dataset]


def train_mb(config: dict, run: Run) -> int:
    """A training job: the model twice (built, then its resumable state), its gradient
    and Adam's two moments, a batch's activations and the dataset in memory."""
    body = body_shape(config, run.model)
    training = config["training"]
    steps = config["experiments"][run.experiment]["context_length"]
    parameters = body.parameters(training["max_episode_steps"])
    spec = env_spec(run.env)
    transitions = dataset_transitions(config, run.dataset)
    dataset = 3 * transitions * (spec.obs_dim + spec.act_dim + 4)  # file, trajectories, sampler
    floats = (5 * parameters + body.activations(training["batch_size"], 3 * steps) + dataset)
    return _declared(floats, TORCH_JOB_MIB)


def _recorded(body: BodyShape, sections: tuple[str, ...], windows: int, tokens: int) -> int:
    """Floats of the activation sections a probe keeps until it writes the dump."""
    per_block = {
        "layers": windows * 3 * body.hooked_width,
        "block_outputs": windows * tokens * body.n_embd,
        "attention": windows * body.n_head * tokens * tokens,
        "pseudo_attention": windows * tokens * tokens,
    }
    return body.n_layer * sum(per_block.get(section, 0) for section in sections)


def _gradient_probe(body: BodyShape, config: dict, windows: int, tokens: int,
                    gram_memory_mb: float) -> float:
    """Floats at the gradient probe's peak: pass 1's chunk of per-sample gradients, the
    checkpointed whole-batch backward pass, or pass 2's group of gradients."""
    settings = config["analysis"]["gradients"]
    first_pass = VMAP_OVERHEAD * settings["chunk_size"] * body.block_parameters
    checkpointed = (body.activations(windows, tokens) / body.n_layer
                    + windows * tokens * body.n_embd * body.n_layer
                    + body.parameters(config["training"]["max_episode_steps"]))
    held = (settings["cosine_samples"] + settings["chunk_size"]) * body.block_parameters
    second_pass = (min(gram_memory_mb * MIB / FLOAT, held)
                   + body.activations(settings["chunk_size"], tokens))
    return max(first_pass, checkpointed, second_pass)


def probe_mb(config: dict, run: Run, gram_memory_mb: float = GRAM_MEMORY_MB) -> int:
    """A probe job (probes.run): the model, built and loaded; at its largest epoch, the
    sections it records and, where the epoch has the gradient probe, its peak."""
    body = body_shape(config, run.model)
    windows, tokens = config["probe"]["batch_size"], 3 * config["probe"]["context_length"]
    model = 2 * body.parameters(config["training"]["max_episode_steps"])
    forward = windows * tokens * 4 * body.n_embd * 3  # the MLP's widest outputs, no grad
    peaks = [0]
    for sections in probe_sections(config, run).values():
        recorded = _recorded(body, sections, windows, tokens)
        gradients = (_gradient_probe(body, config, windows, tokens, gram_memory_mb)
                     if "gradients" in sections else 0)
        peaks.append(recorded + max(forward, gradients))
    return _declared(model + max(peaks), TORCH_JOB_MIB)


def _mine_estimators(config: dict, z_width: int, x_width: int, estimators: int) -> float:
    """Floats of `estimators` MINE estimators trained at once (one chunk at most)."""
    mine = config["analysis"]["mutual_information"]
    hidden, layers = mine["hidden"], mine["hidden_layers"]
    parameters = (x_width + z_width + 2) * hidden + (layers - 1) * (hidden + 1) * hidden + 1
    samples = config["probe"]["batch_size"]
    draws = 2 * mine["iterations"] * samples * 2  # int64 orders and shuffles, in floats
    return min(estimators, mine["chunk_size"]) * (MINE_STATE_COPIES * parameters + draws)


@dataclass(frozen=True, kw_only=True)
class Partition:
    """What an analysis' memory estimate (analyses.entry.Analysis.memory) reads: one
    partition's bodies, the probe batch's shape, the analysis' settings, and the units."""

    config: dict
    analysis: str
    env: str
    bodies: list[BodyShape]

    @property
    def settings(self) -> dict:
        return self.config["analysis"][self.analysis]

    @property
    def windows(self) -> int:
        return self.config["probe"]["batch_size"]

    @property
    def steps(self) -> int:
        return self.config["probe"]["context_length"]

    @property
    def tokens(self) -> int:
        return 3 * self.steps

    @property
    def obs_dim(self) -> int:
        return env_spec(self.env).obs_dim

    @property
    def max_episode_steps(self) -> int:
        return self.config["training"]["max_episode_steps"]

    def rows(self, count: float) -> float:
        """`count` rows of a CKA-like table in pandas, in floats."""
        return count * TABLE_ROW_BYTES / FLOAT

    def mine(self, z_width: int, x_width: int, estimators: int) -> float:
        return _mine_estimators(self.config, z_width, x_width, estimators)


def table_mb(config: dict, analysis: str, env: str, dataset: str, seed: int) -> int:
    """One partition (env, dataset, seed) of an analysis' tables: what its registry entry
    estimates, in a bare process of its kind (with torch or without)."""
    runs = analysed_runs(config, analysis, env, dataset, seed)
    entry = ANALYSES[analysis]
    partition = Partition(config=config, analysis=analysis, env=env,
                          bodies=[body_shape(config, run.model) for run in runs])
    return _declared(entry.memory(partition), TORCH_JOB_MIB if entry.torch else TABLE_JOB_MIB)


def mutual_information_data_mb(config: dict, env: str) -> int:
    """The data table (I(s_t; a_t), I(R_t; a_t) per step): small estimators."""
    spec = env_spec(env)
    estimators = 2 * 2 * config["probe"]["context_length"]
    return _declared(_mine_estimators(config, spec.act_dim, spec.obs_dim, estimators),
                     TORCH_JOB_MIB)
