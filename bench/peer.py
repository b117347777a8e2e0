"""This pipeline against the paper's released code, side by side on the same shapes, data,
seeds and initial weights: training steps/s and evaluation env steps/s, as ratios ours /
released (higher is better).

    python bench/peer.py --released /tmp/peer/released --shape small          # 2500 steps
    python bench/peer.py --released /tmp/peer/released --shape paper --steps 40 --episodes 3
    python bench/peer.py --shape tiny --steps 4 --episodes 1 --max-steps 5    # ours only

The released code (github:t46/pre-training-different-modality-offline-rl; its
can-wikipedia-help-offline-rl/ directory) is imported from --released as it is, never
edited: `install_shims` makes it run under transformers 5, Gymnasium and this repo's
data (each shim and why: bench/README.md, "Against the released code"). Its own
`experiment()` builds its model, optimizer, scheduler, `get_batch` and evaluation
functions (its training loop is stopped before the first iteration and its
`SequenceTrainer` kept); ours are this repo's `Trainer` and `Evaluator` from the same
settings. Both run in this process, on --threads torch threads.

1. **Evaluation** first, while both models hold the same initial weights (ours, copied
   into the released model): one evaluation of --episodes episodes per target (2
   targets), episodes up to --max-steps steps, episode i of each target reset with seed
   `seed + i` in both (the released code reset one unseeded env). Released: its
   `eval_episodes` functions, one episode and one forward pass at a time; ours: the run's
   `Evaluator` (envs built once per run, timed apart), all episodes at once. Env steps
   are counted where the envs step.
2. **Training**: --steps steps of batch 64, K = 20, AdamW lr 1e-4, wd 1e-4, linear
   warm-up, clipping at 0.25, in --rounds chunks alternating between the two codes (ABBA
   order) after --warmup untimed steps each. Released: `SequenceTrainer.train_iteration`
   (its evaluation functions set aside); ours: `Trainer.train_epoch`.

Without --released only our side is measured (the rates, no ratios).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import gc
import json
import pickle
import random
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from _model import random_d4rl_arrays

from modality_rl.data.schema import write_d4rl_hdf5
from modality_rl.data.trajectories import load_trajectories
from modality_rl.envs import env_spec
from modality_rl.runs import Run, run_settings
from modality_rl.scores import ReferenceReturns
from modality_rl.spec import from_data
from modality_rl.training import RunSettings, Trainer

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
RELEASED_DIR = "can-wikipedia-help-offline-rl"
# (n_layer, n_embd, n_head); ReLU, as the paper's random body. tiny: the tests' rehearsal.
SHAPES = {"tiny": (1, 32, 1), "small": (3, 128, 1), "paper": (12, 768, 1)}
# Released parameters its forward never reads: the token embedding (the body gets
# embeddings) and GPT-2's position embedding (commented out in its trajectory_gpt2).
UNUSED_RELEASED = ("transformer.wte.weight", "transformer.wpe.weight")


# -- shims: the released code under transformers 5, Gymnasium and our data ------------
class OldGymEnv:
    """A Gymnasium env behind gym 0.18's API (reset -> obs; step -> obs, reward, done,
    info), which the released evaluate_episode_rtg calls. Reset number r is seeded with
    `seed + r % episodes`, as our Evaluator seeds episode r of each target; env steps and
    episode lengths are counted here."""

    def __init__(self, env, seed: int, episodes: int):
        self.env, self.seed, self.episodes = env, seed, episodes
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self.restart()

    def restart(self) -> None:
        """A new evaluation: the seeds start again and the counts are cleared."""
        self.resets, self.steps, self.lengths = 0, 0, []

    def reset(self):
        observation, _ = self.env.reset(seed=self.seed + self.resets % self.episodes)
        self.resets += 1
        self.lengths.append(0)
        return observation

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        self.lengths[-1] += 1
        return observation, reward, terminated or truncated, info


def gym_alias(seed: int, episodes: int, max_steps: int) -> types.ModuleType:
    """A `gym` module whose make("Hopper-v3") is Gymnasium's Hopper-v4 (the maintained
    bindings of the same model files) behind the old API; `made` keeps the envs."""
    import gymnasium

    module = types.ModuleType("gym")
    module.made = []

    def make(name: str) -> OldGymEnv:
        gym_id = name.replace("-v3", "-v4")
        env = OldGymEnv(gymnasium.make(gym_id, max_episode_steps=max_steps), seed, episodes)
        module.made.append(env)
        return env

    module.make = make
    return module


def _unavailable(*args, **kwargs):
    raise NotImplementedError("not shimmed: the paper's runs never call it")


def stub_module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


def install_shims(seed: int, episodes: int, max_steps: int) -> types.ModuleType:
    """Modules and names the released code imports that transformers 5 and this
    environment lack; returns the `gym` alias. Applied before its first import."""
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    # transformers 4.12's homes of names that moved (Conv1D) or went (the rest: pruning,
    # model parallelism and SequenceSummary serve no GPT2Model forward).
    modeling_utils.Conv1D = pytorch_utils.Conv1D
    modeling_utils.SequenceSummary = type("SequenceSummary", (torch.nn.Module,), {})
    modeling_utils.find_pruneable_heads_and_indices = _unavailable
    modeling_utils.prune_conv1d_layer = _unavailable
    sys.modules["transformers.utils.model_parallel_utils"] = stub_module(
        "transformers.utils.model_parallel_utils", assert_device_map=_unavailable,
        get_device_map=_unavailable)
    # Imported for options the paper did not use (gpt_kmeans); not installed here.
    sys.modules.setdefault("kmeans_pytorch", stub_module("kmeans_pytorch", kmeans=_unavailable))
    sys.modules.setdefault("torch_semiring_einsum", stub_module(
        "torch_semiring_einsum", compile_equation=lambda equation: equation,
        einsum=_unavailable))
    try:
        import wandb  # noqa: F401  (experiment.py imports it; log_to_wandb stays off)
    except ImportError:
        sys.modules["wandb"] = stub_module("wandb", init=_unavailable, log=_unavailable)
    gym = gym_alias(seed, episodes, max_steps)
    sys.modules["gym"] = gym
    return gym


def _init_weights_as_in_4_12(self) -> None:
    """transformers 4.12's init_weights: the model's _init_weights on every module (5's
    needs tied-weight bookkeeping the released GPT2Model does not set up)."""
    self.apply(self._init_weights)


def _no_head_mask(self, head_mask, num_hidden_layers: int, is_attention_chunked=False):
    """transformers 4.12's get_head_mask for no mask (5 removed head masks)."""
    if head_mask is not None:
        raise NotImplementedError("head masks are not shimmed")
    return [None] * num_hidden_layers


def import_released(root: Path) -> types.ModuleType:
    """The released experiment module, its GPT-2 copy patched for transformers 5."""
    sys.path.insert(0, str(root))
    import decision_transformer.models.trajectory_gpt2 as trajectory_gpt2

    trajectory_gpt2.GPT2PreTrainedModel.init_weights = _init_weights_as_in_4_12
    trajectory_gpt2.GPT2PreTrainedModel.get_head_mask = _no_head_mask
    import experiment

    return experiment


def released_root(path: Path) -> Path:
    return path / RELEASED_DIR if (path / RELEASED_DIR).is_dir() else path


def released_commit(path: Path) -> str:
    result = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown (not a git checkout)"


def write_released_dataset(hdf5: Path, data_dir: Path, env: str, dataset: str) -> None:
    """Our HDF5 as the released loader reads it: the pickled list of trajectory dicts its
    data/download_d4rl_datasets.py wrote (D4RL's own loading needs d4rl and mujoco-py)."""
    def terminals(trajectory) -> np.ndarray:
        flags = np.zeros(len(trajectory), bool)
        flags[-1] = trajectory.terminal
        return flags

    paths = [{"observations": t.observations, "actions": t.actions, "rewards": t.rewards,
              "terminals": terminals(t)} for t in load_trajectories(hdf5)]
    with open(data_dir / f"{env}-{dataset}-v2.pkl", "wb") as f:
        pickle.dump(paths, f)


# -- the two sides ---------------------------------------------------------------------
def our_settings(config: dict, args: argparse.Namespace, steps_per_epoch: int) -> RunSettings:
    """config.yaml's main random-body run, at the shape and counts of the flags."""
    config = copy.deepcopy(config)
    n_layer, n_embd, n_head = SHAPES[args.shape]
    config["backbones"]["random"] = {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head,
                                     "activation": "relu"}
    config["training"]["steps_per_epoch"] = steps_per_epoch
    config["evaluation"].update(episodes=args.episodes, max_episode_steps=args.max_steps)
    run = Run(experiment="main", model="random", env=args.env, dataset="medium", seed=args.seed)
    return from_data(RunSettings, run_settings(config, run, {}, checkpoint_epochs=[]))


def our_trainer(config: dict, args: argparse.Namespace, hdf5: Path, work: Path) -> Trainer:
    spec = env_spec(args.env)
    refs = ReferenceReturns(env=args.env, paper_random=spec.d4rl_random_score,
                            paper_expert=spec.d4rl_expert_score,
                            d4rl_random=spec.d4rl_random_score,
                            d4rl_expert=spec.d4rl_expert_score)
    return Trainer(our_settings(config, args, args.steps // args.rounds), hdf5, refs,
                   work / "ours", args.device, eval_workers=args.eval_workers)


def released_variant(config: dict, args: argparse.Namespace, work: Path) -> dict:
    """experiment.py's flags as the paper ran the random body (its argparse defaults but
    the shape, Table 3's residual dropout, the tied action head and our paths)."""
    n_layer, n_embd, n_head = SHAPES[args.shape]
    training = config["training"]
    return {
        "env": args.env, "dataset": "medium", "mode": "normal", "K": 20, "pct_traj": 1.0,
        "batch_size": training["batch_size"], "model_type": "dt", "embed_dim": n_embd,
        "n_layer": n_layer, "n_head": n_head, "activation_function": "relu",
        "dropout": training["dropout"]["residual"], "learning_rate": training["learning_rate"],
        "lm_learning_rate": None, "weight_decay": training["weight_decay"],
        "warmup_steps": training["warmup_steps"], "num_eval_episodes": args.episodes,
        "max_iters": 0, "num_steps_per_iter": args.steps // args.rounds,
        "device": args.device, "pretrained_lm": None, "load_checkpoint": None,
        "log_to_wandb": False, "seed": args.seed, "outdir": str(work / "released_out"),
        "fp16": False, "frozen": False, "gpt_kmeans": None, "extend_positions": False,
        "gpt_kmeans_const": None, "kmeans_cache": None, "share_input_output_proj": True,
        "kmeans_mean": False, "remove_grad_clip": False, "data_path": str(work),
        "pretrained_block": None}


class Released:
    """The released experiment's trainer and env, built by its own experiment()."""

    def __init__(self, root: Path, config: dict, args: argparse.Namespace, hdf5: Path,
                 work: Path):
        gym = install_shims(args.seed, args.episodes, args.max_steps)
        experiment = import_released(root)
        write_released_dataset(hdf5, work, args.env, "medium")
        kept = []

        class KeptTrainer(experiment.SequenceTrainer):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                kept.append(self)

        experiment.SequenceTrainer = KeptTrainer
        # experiment.py seeds torch only; its get_batch draws from random and np.random.
        random.seed(args.seed)
        np.random.seed(args.seed)
        self.variant = released_variant(config, args, work)
        experiment.experiment("peer", variant=self.variant)  # max_iters 0: builds only
        self.variant["outdir"] = ""  # train_iteration then saves no checkpoint
        (self.trainer,), (self.env,) = kept, gym.made
        self.eval_fns, self.trainer.eval_fns = self.trainer.eval_fns, []

    def train(self, steps: int) -> float:
        start = time.perf_counter()
        self.trainer.train_iteration(num_steps=steps, print_logs=False)
        return time.perf_counter() - start

    def evaluate(self) -> dict:
        self.env.restart()
        self.trainer.model.eval()
        start = time.perf_counter()
        outputs = [evaluate(self.trainer.model) for evaluate in self.eval_fns]
        seconds = time.perf_counter() - start
        returns = [float(v) for out in outputs for k, v in out.items() if k.endswith("return_mean")]
        return {"seconds": seconds, "env_steps": self.env.steps, "lengths": self.env.lengths,
                "return_means": returns}


class Ours:
    def __init__(self, config: dict, args: argparse.Namespace, hdf5: Path, work: Path):
        self.trainer = our_trainer(config, args, hdf5, work)
        self.epoch = 0
        start = time.perf_counter()
        self.evaluator = self.trainer.evaluator()
        self.build_s = time.perf_counter() - start

    def train(self, steps: int) -> float:
        trainer = self.trainer
        trainer.cfg = replace(trainer.cfg, steps_per_epoch=steps)
        self.epoch += 1
        start = time.perf_counter()
        trainer.train_epoch(self.epoch)
        return time.perf_counter() - start

    def evaluate(self) -> dict:
        """The run's evaluation (Trainer.evaluate: the Evaluator and the metrics row)."""
        results = []
        evaluate = self.evaluator.evaluate

        def recorded(*args):  # the per-episode lengths, which the metrics row averages
            results.append(evaluate(*args))
            return results[-1]

        self.evaluator.evaluate = recorded
        before = self.evaluator.pool.step_count()
        start = time.perf_counter()
        self.trainer.evaluate(self.evaluator, 0, None)
        seconds = time.perf_counter() - start
        del self.evaluator.evaluate  # the instance's own method again
        return {"seconds": seconds, "env_steps": self.evaluator.pool.step_count() - before,
                "lengths": results[0].lengths.reshape(-1).tolist(),
                "return_means": results[0].returns.mean(axis=1).tolist()}

    def close(self) -> None:
        self.evaluator.close()


def copy_weights(ours: torch.nn.Module, released: torch.nn.Module) -> list[str]:
    """Ours' initial weights into the released model, in place (its optimizer keeps its
    parameters); every parameter its forward reads must be covered. Returns the copied."""
    theirs = released.state_dict()
    shared = {k: v for k, v in ours.state_dict().items()
              if k in theirs and theirs[k].shape == v.shape and k not in UNUSED_RELEASED}
    uncovered = [k for k, _ in released.named_parameters()
                 if k not in shared and k not in UNUSED_RELEASED]
    if uncovered:
        raise RuntimeError(f"released parameters without a counterpart in ours: {uncovered}")
    released.load_state_dict(shared, strict=False)
    return sorted(shared)


# -- measuring -------------------------------------------------------------------------
def alternate(sides: dict[str, Any], rounds: int, time_one: Callable[[Any], Any]
              ) -> dict[str, list]:
    """`time_one(side)` for each side, `rounds` times, in ABBA order (noise hits both)."""
    results: dict[str, list] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(time_one(sides[name]))
            gc.collect()
    return results


def training_report(sides: dict[str, Any], args: argparse.Namespace) -> dict:
    chunk = args.steps // args.rounds
    for side in sides.values():
        if args.warmup:
            side.train(args.warmup)
    seconds = alternate(sides, args.rounds, lambda side: side.train(chunk))
    return {name: {"steps": chunk * args.rounds, "seconds": sum(s),
                   "steps_per_s": chunk * args.rounds / sum(s),
                   "round_steps_per_s": [chunk / x for x in s]}
            for name, s in seconds.items()}


def evaluation_report(sides: dict[str, Any], args: argparse.Namespace) -> dict:
    runs = alternate(sides, args.eval_rounds, lambda side: side.evaluate())
    report = {}
    for name, results in runs.items():
        steps, seconds = sum(r["env_steps"] for r in results), sum(r["seconds"] for r in results)
        report[name] = {"env_steps": steps, "seconds": seconds, "env_steps_per_s": steps / seconds,
                        "evaluations": len(results), "last": results[-1]}
    report["ours"]["envs_build_s"] = sides["ours"].build_s
    if "released" in runs:  # the same weights and seeds: the same episodes, up to rounding
        report["episode_lengths_agree"] = (runs["released"][-1]["lengths"]
                                           == runs["ours"][-1]["lengths"])
    return report


def ratios(report: dict) -> dict:
    """ours / released: above 1, ours is faster."""
    if "released" not in report["training"]:
        return {}
    train, evaluation = report["training"], report["evaluation"]
    return {"training_steps_per_s": train["ours"]["steps_per_s"]
            / train["released"]["steps_per_s"],
            "evaluation_env_steps_per_s": evaluation["ours"]["env_steps_per_s"]
            / evaluation["released"]["env_steps_per_s"]}


def measure(args: argparse.Namespace) -> dict:
    config = yaml.safe_load(CONFIG.read_text())
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
        work = Path(tmp)
        hdf5 = work / f"{args.env}_medium-v2.hdf5"
        write_d4rl_hdf5(random_d4rl_arrays(args.env, args.trajectories, args.dataset_steps,
                                           args.seed), hdf5, {"env": args.env})
        sides: dict[str, Any] = {"ours": Ours(config, args, hdf5, work)}
        report: dict[str, Any] = {}
        if args.released is not None:
            released = Released(released_root(args.released), config, args, hdf5, work)
            copied = copy_weights(sides["ours"].trainer.model, released.trainer.model)
            sides = {"released": released, **sides}
            report["copied_parameters"] = len(copied)
        try:
            report["evaluation"] = evaluation_report(sides, args)
            report["training"] = training_report(sides, args)
        finally:
            sides["ours"].close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--released", type=Path, default=None,
                        help="checkout of the released code (the repository or its "
                             f"{RELEASED_DIR}/); without it, only ours is measured")
    parser.add_argument("--shape", choices=SHAPES, default="small",
                        help="small: 3 x 128 (presets/quick.yaml); paper: 12 x 768; both "
                             "1 head, ReLU; tiny: the tests' rehearsal")
    parser.add_argument("--steps", type=int, default=2500, help="timed training steps")
    parser.add_argument("--rounds", type=int, default=4,
                        help="chunks the steps are split into, alternating the codes")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per code")
    parser.add_argument("--episodes", type=int, default=100, help="per target")
    parser.add_argument("--max-steps", type=int, default=1000, help="per episode")
    parser.add_argument("--eval-rounds", type=int, default=1, help="evaluations per code")
    parser.add_argument("--eval-workers", type=int, default=0,
                        help="our Evaluator's stepping processes (0: in this process)")
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--seed", type=int, default=666)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--trajectories", type=int, default=2186, help="of the dataset")
    parser.add_argument("--dataset-steps", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    if args.steps < args.rounds:
        parser.error("--steps must be at least --rounds")
    started = time.perf_counter()
    report = {"date": datetime.date.today().isoformat(), "args": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "shape": dict(zip(("n_layer", "n_embd", "n_head"), SHAPES[args.shape])),
        "torch": torch.__version__}
    if args.released is not None:
        report["released_commit"] = released_commit(args.released)
    report |= measure(args)
    report["ratios_ours_over_released"] = ratios(report)
    report["total_s"] = time.perf_counter() - started
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.json is not None:
        args.json.write_text(text)
    for name, ratio in report["ratios_ours_over_released"].items():
        print(f"{name}: ours / released = {ratio:.2f}x")


if __name__ == "__main__":
    main()
