"""What the paper's configuration costs on a device: ms per training step and per
evaluation step of each body, in fp32 and bf16, and the projected device-hours of every
run of config.yaml.

    python bench/paper_cost.py --device cuda
    python bench/paper_cost.py --device cpu --bodies random --precisions fp32 --steps 1 \
        --warmup 0 --eval-steps 2        # a check that it runs, without a GPU

Bodies have the paper's shapes with random weights (the compute does not depend on the
weights): random 12x768 with 1 head and ReLU (Table 3), gpt2 12x768 with 12 heads,
igpt 24x512 with 8 heads. A training step is the pipeline's: forward, masked action
MSE, backward, clipping at 0.25, AdamW, on `batch_size` windows of K = 20 (bf16:
autocast, as `training.bf16`). An evaluation step is one step of `evaluate_batched`: a
forward pass of every episode's window and a step of the vector env (fp32).

The projection sums over every run of config.yaml:
epochs x (steps_per_epoch x training step + max_episode_steps x evaluation step), where
one evaluation step covers all targets and episodes at once. Episodes are assumed to
last their whole 1000 steps, so the evaluation share is an upper bound.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from _model import PAPER_DROPOUT, random_windows

from modality_rl.envs import env_spec
from modality_rl.evaluation import EvalConfig, evaluate_batched
from modality_rl.models.backbones import RandomBodyConfig, random_body
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.runs import enumerate_runs, experiment_epochs
from modality_rl.training import masked_action_mse

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
BODIES = {"random": RandomBodyConfig(n_layer=12, n_embd=768, n_head=1, activation="relu"),
          "gpt2": RandomBodyConfig(n_layer=12, n_embd=768, n_head=12, activation="gelu_new"),
          "igpt": RandomBodyConfig(n_layer=24, n_embd=512, n_head=8, activation="quick_gelu")}


def body_of(model: str) -> str:
    """Which body's cost a run pays: block-swap models are a random body with one GPT-2
    block, the same shape."""
    return "igpt" if model.startswith("igpt") else "gpt2" if model == "gpt2" else "random"


def decision_transformer(body: str, env: str, device: torch.device) -> DecisionTransformer:
    torch.manual_seed(0)
    spec = env_spec(env)
    return DecisionTransformer(random_body(BODIES[body], PAPER_DROPOUT), spec.obs_dim,
                               spec.act_dim).to(device)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_step_ms(model, batch: dict, bf16: bool, steps: int, warmup: int,
                     device: torch.device) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    model.train()
    for step in range(warmup + steps):
        if step == warmup:
            synchronise(device)
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            predicted = model(batch["states"], batch["actions"], batch["returns_to_go"],
                              batch["timesteps"], attention_mask=batch["mask"])
        loss = masked_action_mse(predicted.float(), batch["actions"], batch["mask"])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
    synchronise(device)
    return (time.perf_counter() - start) / steps * 1000


def evaluation_step_ms(model, config: dict, env: str, steps: int,
                       device: torch.device) -> float:
    spec = env_spec(env)
    targets = tuple(config["evaluation"]["targets"][env])
    cfg = EvalConfig(env=env, target_returns=targets, episodes=config["evaluation"]["episodes"],
                     context_length=20, state_mean=np.zeros(spec.obs_dim),
                     state_std=np.ones(spec.obs_dim), seed=0, max_episode_steps=steps)
    model.eval()
    start = time.perf_counter()
    result = evaluate_batched(model, cfg, device)
    synchronise(device)
    # Per step of the vector env; episodes that terminate early shorten the loop.
    return (time.perf_counter() - start) / int(result.lengths.max()) * 1000


def projected_hours(config: dict, train_ms: dict, eval_ms: dict) -> float:
    """Device-hours of every run of `config`, from per-body step times in ms."""
    steps_per_epoch = config["training"]["steps_per_epoch"]
    eval_steps = config["evaluation"]["max_episode_steps"]
    total_ms = 0.0
    for run in enumerate_runs(config):
        epochs = experiment_epochs(config["experiments"][run.experiment], run.env)
        body = body_of(run.model)
        total_ms += epochs * (steps_per_epoch * train_ms[body] + eval_steps * eval_ms[body])
    return total_ms / 3.6e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--bodies", default=",".join(BODIES))
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--steps", type=int, default=50, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--eval-steps", type=int, default=50, help="timed evaluation steps")
    args = parser.parse_args()
    device = torch.device(args.device)
    config = yaml.safe_load(CONFIG.read_text())
    batch_size = config["training"]["batch_size"]
    batch = {key: torch.from_numpy(value).to(device) for key, value in
             random_windows(batch_size, 20, args.env).as_dict().items()}
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda"
              else "cpu", "batch_size": batch_size, "train_ms": {}, "eval_ms": {}}
    for body in args.bodies.split(","):
        model = decision_transformer(body, args.env, device)
        report["train_ms"][body] = {
            precision: training_step_ms(model, batch, precision == "bf16", args.steps,
                                        args.warmup, device)
            for precision in args.precisions.split(",")}
        report["eval_ms"][body] = evaluation_step_ms(model, config, args.env,
                                                     args.eval_steps, device)
        print(json.dumps({body: report["train_ms"][body], "eval_ms": report["eval_ms"][body]}),
              flush=True)
    if set(report["train_ms"]) == set(BODIES):
        report["projected_hours"] = {
            precision: projected_hours(config, {b: report["train_ms"][b][precision]
                                                for b in BODIES}, report["eval_ms"])
            for precision in args.precisions.split(",")}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
