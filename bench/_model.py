"""What the benchmarks share: the model-size flags, a seeded random-body DT, windows, and
a module as it was at an earlier commit (the "before" of a before/after comparison)."""

import argparse
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch

from modality_rl.data.trajectories import Trajectory, split_trajectories
from modality_rl.data.windows import WindowBatch
from modality_rl.envs import env_spec
from modality_rl.models.backbones import Dropout, RandomBodyConfig, random_body
from modality_rl.models.decision_transformer import DecisionTransformer


# Table 3's dropout (config key training.dropout).
PAPER_DROPOUT = Dropout(embedding=0.1, attention=0.1, residual=0.2)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--context-length", type=int, default=20)
    parser.add_argument("--n-layer", type=int, default=3)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)


def random_decision_transformer(args: argparse.Namespace) -> DecisionTransformer:
    """A DT on `args.env` with a random body of the flagged size, on `args.threads` threads."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = env_spec(args.env)
    body = random_body(RandomBodyConfig(n_layer=args.n_layer, n_embd=args.n_embd, n_head=1,
                                        activation="relu"), PAPER_DROPOUT)
    return DecisionTransformer(body, spec.obs_dim, spec.act_dim)


def random_windows(size: int, context_length: int, env: str) -> WindowBatch:
    """Seeded random windows shaped like the env's (every step real, no padding)."""
    spec = env_spec(env)
    rng = np.random.default_rng(0)
    shape = (size, context_length)
    return WindowBatch(
        states=rng.normal(size=(*shape, spec.obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(*shape, spec.act_dim)).astype(np.float32),
        rewards=np.zeros((*shape, 1), np.float32),
        returns_to_go=rng.uniform(0, 3, size=(*shape, 1)).astype(np.float32),
        timesteps=rng.integers(0, 999, size=shape), mask=np.ones(shape, np.float32))


def random_d4rl_arrays(env: str, trajectories: int, steps: int, seed: int = 0
                       ) -> dict[str, np.ndarray]:
    """The flat arrays of a random D4RL file of `env`: `steps` transitions cut into
    `trajectories` episodes of random lengths (hopper-medium: 2186 and about 1M)."""
    spec = env_spec(env)
    rng = np.random.default_rng(seed)
    lengths = rng.multinomial(steps - trajectories, np.ones(trajectories) / trajectories) + 1
    timeouts = np.zeros(steps, bool)
    timeouts[np.cumsum(lengths) - 1] = True
    return {"observations": rng.normal(size=(steps, spec.obs_dim)).astype(np.float32),
            "actions": rng.uniform(-1, 1, (steps, spec.act_dim)).astype(np.float32),
            "rewards": rng.uniform(0, 4, steps).astype(np.float32),
            "terminals": np.zeros(steps, bool), "timeouts": timeouts}


def random_trajectories(env: str, trajectories: int, steps: int, seed: int = 0
                        ) -> list[Trajectory]:
    """`random_d4rl_arrays` cut into its episodes."""
    return split_trajectories(random_d4rl_arrays(env, trajectories, steps, seed))


def module_at(commit: str, path: str) -> types.ModuleType:
    """The repository's file `path` as it was at `commit`, loaded as a module."""
    repo = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=repo, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"{Path(path).stem}_at_{commit}")
    module.__file__ = f"{commit}:{path}"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
