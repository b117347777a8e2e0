"""What the paper's configuration costs on a device, measured piece by piece, and the
projected device-hours of every run of config.yaml.

    python bench/paper_cost.py --device cuda         # everything; meant to fit in 15 min
    python bench/paper_cost.py --device cpu --bodies random --ks 1 --precisions fp32 \\
        --compile off --envs halfcheetah --workers 0,2 --runs-per-gpu 1,2 \\
        --steps 2 --warmup 1 --eval-steps 2        # a check that it runs, without a GPU

Bodies have the paper's shapes with random weights (the compute does not depend on the
weights): random 12x768 with 1 head and ReLU (Table 3), gpt2 12x768 with 12 heads, igpt
24x512 with 8 heads; block-swap models cost what the random body costs. Measured:

1. **Training step**, per body, K (20 and 1: every run is priced at its experiment's K)
   and precision: a batch of `training.batch_size` windows gathered by the window sampler
   from a dataset kept on the device, forward, masked action MSE, backward, clipping at
   0.25, AdamW (fused on CUDA); no host sync inside the timed steps. Precisions: fp32
   (strict fp32 matmuls), tf32 (TF32 matmuls), bf16 (bf16 autocast of the forward, TF32
   elsewhere). With `--compile on` also under torch.compile (its compile time is
   reported apart, not in the step).
2. **Evaluation**, per env, K, body, precision and number of stepping workers: an
   `Evaluator` for the env's targets x `evaluation.episodes` episodes; its construction
   (building the envs, once per run) is timed apart from its steps. Per-step time is
   the evaluation's time per 200 episode-steps (all episodes live), so episodes that end
   early (random bodies fall over) do not make a step look cheaper.
3. **Runs per GPU**: N processes training the same body and K at once on the device;
   their throughput over one process's is the packing gain.

The projection sums over every run of config.yaml whose pieces were measured:
epochs x steps_per_epoch x training step + (epochs + 1) evaluations x
`evaluation.max_episode_steps` x evaluation step + one env construction, divided by the
packing gain of N runs per GPU (evaluation assumed to pack like training). Episodes are
counted at their full 1000 steps, so the evaluation share is an upper bound.
"""

import argparse
import json
import queue
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import yaml
from _model import PAPER_DROPOUT, random_trajectories

from modality_rl.data.trajectories import state_statistics
from modality_rl.data.windows import WindowSampler
from modality_rl.envs import env_spec
from modality_rl.evaluation import EvalConfig, Evaluator
from modality_rl.models.backbones import RandomBodyConfig, random_body
from modality_rl.models.decision_transformer import DecisionTransformer
from modality_rl.runs import enumerate_runs, experiment_epochs
from modality_rl.training import masked_action_mse

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
BODIES = {"random": RandomBodyConfig(n_layer=12, n_embd=768, n_head=1, activation="relu"),
          "gpt2": RandomBodyConfig(n_layer=12, n_embd=768, n_head=12, activation="gelu_new"),
          "igpt": RandomBodyConfig(n_layer=24, n_embd=512, n_head=8, activation="quick_gelu")}
PRECISIONS = ("fp32", "tf32", "bf16")
TRAIN_ENV = "hopper"  # the training step hardly depends on the env's few input dims


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


@contextmanager
def matmul_precision(precision: str):
    """fp32: strict fp32 matmuls; tf32 and bf16: TF32 wherever fp32 matmuls remain."""
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest" if precision == "fp32" else "high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def autocast(precision: str, device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


# -- 1. training steps ---------------------------------------------------------------
class TrainingStep:
    """The pipeline's training step for one body and K on `device`."""

    def __init__(self, body: str, k: int, device: torch.device, batch_size: int,
                 dataset: list, compiled: bool):
        self.device, self.batch_size = device, batch_size
        self.model = decision_transformer(body, TRAIN_ENV, device)
        self.sampler = WindowSampler(dataset, k, *state_statistics(dataset)).to(device)
        self.forward = torch.compile(self.model) if compiled else self.model
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, weight_decay=1e-4,
                                           fused=device.type == "cuda")
        self.rng = np.random.default_rng(0)

    def __call__(self, precision: str) -> None:
        batch = self.sampler.sample(self.batch_size, self.rng)
        with autocast(precision, self.device):
            predicted = self.forward(batch.states, batch.actions, batch.returns_to_go,
                                     batch.timesteps, attention_mask=batch.mask)
        loss = masked_action_mse(predicted.float(), batch.actions, batch.mask)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 0.25)
        self.optimizer.step()

    def ms(self, precision: str, steps: int, warmup: int, barrier=None) -> dict:
        with matmul_precision(precision):
            start = time.perf_counter()
            for _ in range(warmup):
                self(precision)
            synchronise(self.device)
            warm = time.perf_counter()
            if barrier is not None:
                barrier.wait()
                warm = time.perf_counter()
            for _ in range(steps):
                self(precision)
            synchronise(self.device)
            end = time.perf_counter()
        return {"ms": (end - warm) / steps * 1000, "warmup_s": warm - start}


def training_costs(args, device, batch_size, dataset) -> dict:
    """{body: {K: {precision: {compile: ms per step}}}}, and the compile times."""
    costs, compile_s = {}, {}
    for body in args.bodies:
        for k in args.ks:
            for compiled in args.compile:
                step = TrainingStep(body, k, device, batch_size, dataset, compiled)
                for precision in (args.precisions if not compiled else args.compile_precisions):
                    result = step.ms(precision, args.steps, max(args.warmup, 1 if compiled else 0))
                    key = "on" if compiled else "off"
                    costs.setdefault(body, {}).setdefault(k, {}).setdefault(precision, {})[key] = \
                        result["ms"]
                    if compiled:
                        compile_s[f"{body}/K={k}/{precision}"] = result["warmup_s"]
                    log({"train": body, "K": k, "precision": precision, "compile": key,
                         "ms_per_step": result["ms"]})
                del step
    return {"ms_per_step": costs, "compile_and_warmup_s": compile_s}


# -- 2. evaluation ---------------------------------------------------------------------
def evaluation_costs(args, config, device) -> dict:
    """build_s[env][workers]: constructing the envs; ms_per_step[env][K][workers][body]
    [precision]: an evaluation step with all episodes live."""
    build_s, costs = {}, {}
    for env in args.envs:
        spec = env_spec(env)
        targets = tuple(config["evaluation"]["targets"][env])
        episodes = config["evaluation"]["episodes"]
        n = len(targets) * episodes
        for k in args.ks:
            cfg = EvalConfig(env=env, target_returns=targets, episodes=episodes,
                             context_length=k, state_mean=np.zeros(spec.obs_dim),
                             state_std=np.ones(spec.obs_dim), seed=0,
                             max_episode_steps=args.eval_steps)
            for workers in args.workers:
                start = time.perf_counter()
                with Evaluator(cfg, workers=workers) as evaluator:
                    build_s.setdefault(env, {})[workers] = time.perf_counter() - start
                    for b, body in enumerate(args.bodies):
                        model = decision_transformer(body, env, device)
                        for precision in args.precisions:
                            with matmul_precision(precision), autocast(precision, device):
                                if b == 0 and precision == args.precisions[0]:
                                    evaluator.evaluate(model, device)  # warm-up
                                start = time.perf_counter()
                                result = evaluator.evaluate(model, device)
                                synchronise(device)
                                seconds = time.perf_counter() - start
                            # Per n live episode-steps: episodes that end early are cheaper.
                            ms = seconds / (result.lengths.sum() / n) * 1000
                            costs.setdefault(env, {}).setdefault(k, {}).setdefault(
                                workers, {}).setdefault(body, {})[precision] = ms
                            log({"eval": env, "K": k, "workers": workers, "body": body,
                                 "precision": precision, "ms_per_step": ms,
                                 "build_s": build_s[env][workers]})
    return {"build_s": build_s, "ms_per_step": costs}


# -- 3. several runs per GPU -------------------------------------------------------------
def _train_in_process(rank, args, batch_size, barrier, results) -> None:
    device = torch.device(args.device)
    torch.set_num_threads(1)
    dataset = random_trajectories(TRAIN_ENV, args.trajectories, args.dataset_steps, seed=rank)
    for body in args.bodies:
        for k in args.ks:
            step = TrainingStep(body, k, device, batch_size, dataset, compiled=False)
            result = step.ms(args.precisions[0], args.steps, args.warmup, barrier)
            barrier.wait()
            results.put((rank, body, k, result["ms"]))
            del step


def packing_gains(args, batch_size) -> dict:
    """{N: {body: {K: throughput of N concurrent runs / one run's}}} from N processes."""
    context = torch.multiprocessing.get_context("spawn")
    ms = {}
    for n in args.runs_per_gpu:
        barrier, results = context.Barrier(n, timeout=1800), context.Queue()
        processes = [context.Process(target=_train_in_process, daemon=True,
                                     args=(rank, args, batch_size, barrier, results))
                     for rank in range(n)]
        for process in processes:
            process.start()
        for _ in range(n * len(args.bodies) * len(args.ks)):
            while True:
                try:
                    rank, body, k, step_ms = results.get(timeout=5)
                    break
                except queue.Empty as nothing_yet:
                    failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                    if failed:
                        raise RuntimeError(f"packed training processes exited with {failed}"
                                           ) from nothing_yet
            ms.setdefault(n, {}).setdefault(body, {}).setdefault(k, []).append(step_ms)
        for process in processes:
            process.join()
        log({"runs_per_gpu": n, "ms_per_step": ms[n]})
    # The slowest of the N processes sets their throughput: N steps per its step time.
    return {n: {body: {k: n * ms[1][body][k][0] / max(packed)
                       for k, packed in ks.items()} for body, ks in bodies.items()}
            for n, bodies in ms.items()}


# -- projection -----------------------------------------------------------------------
def projected_hours(config: dict, train_ms: dict, eval_ms: dict, build_s: dict,
                    gain: dict) -> tuple[float, int]:
    """Device-hours of the runs whose pieces were measured, and how many runs that is.

    train_ms[body][K], eval_ms[env][K][body], build_s[env], gain[body][K]."""
    steps_per_epoch = config["training"]["steps_per_epoch"]
    eval_steps = config["evaluation"]["max_episode_steps"]
    seconds, covered = 0.0, 0
    for run in enumerate_runs(config):
        experiment = config["experiments"][run.experiment]
        k, body = experiment["context_length"], body_of(run.model)
        try:
            train, evaluate = train_ms[body][k], eval_ms[run.env][k][body]
            run_gain, build = gain[body][k], build_s[run.env]
        except KeyError:
            continue
        epochs = experiment_epochs(experiment, run.env)
        run_s = (epochs * steps_per_epoch * train + (epochs + 1) * eval_steps * evaluate) / 1000
        seconds += (run_s + build) / run_gain
        covered += 1
    return seconds / 3600, covered


def projections(config: dict, report: dict, args, eval_precision: str | None = None
                ) -> list[dict]:
    """Projected hours of every measured combination of settings, cheapest first.
    Evaluation at each row's precision, or at `eval_precision` for every row."""
    train, evaluation = report["training"]["ms_per_step"], report["evaluation"]
    rows = []
    for precision in args.precisions:
        for compiled in ("off", "on"):
            train_ms = {b: {k: c[precision][compiled] for k, c in ks.items()
                            if compiled in c.get(precision, {})} for b, ks in train.items()}
            if not any(train_ms.values()):
                continue
            for workers in args.workers:
                eval_ms = {env: {k: {b: c[workers][b][eval_precision or precision]
                                     for b in c[workers]}
                                 for k, c in ks.items()}
                           for env, ks in evaluation["ms_per_step"].items()}
                build_s = {env: s[workers] for env, s in evaluation["build_s"].items()}
                for n, gain in report["packing_gain"].items():
                    hours, covered = projected_hours(config, train_ms, eval_ms, build_s, gain)
                    rows.append({"precision": precision, "compile": compiled,
                                 "eval_workers": workers, "runs_per_gpu": n,
                                 "hours": float(hours), "runs": covered})
    return sorted(rows, key=lambda row: row["hours"])


def log(record: dict) -> None:
    print(json.dumps(record), flush=True)


def parse_list(kind):
    return lambda text: [kind(item) for item in text.split(",")]


def configured_workers(config: dict) -> int:
    """The evaluation workers of a training job: its threads but the trainer's own."""
    return config["compute"]["train_threads"] - 1


def main() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--bodies", type=parse_list(str), default=list(BODIES))
    parser.add_argument("--ks", type=parse_list(int), default=[20, 1])
    parser.add_argument("--precisions", type=parse_list(str), default=list(PRECISIONS),
                        help="the first is also the packed runs' precision")
    parser.add_argument("--compile", type=parse_list(lambda s: s == "on"),
                        default=[False, True], help="off,on")
    parser.add_argument("--compile-precisions", type=parse_list(str), default=["tf32"])
    parser.add_argument("--envs", type=parse_list(str), default=list(config["envs"]))
    parser.add_argument("--workers", type=parse_list(int),
                        default=[0, configured_workers(config)],
                        help="evaluation stepping processes to measure")
    parser.add_argument("--runs-per-gpu", type=parse_list(int), default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=30, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--eval-steps", type=int, default=25, help="steps per evaluation")
    parser.add_argument("--trajectories", type=int, default=2186, help="of the dataset")
    parser.add_argument("--dataset-steps", type=int, default=1_000_000)
    args = parser.parse_args()
    for precision in args.precisions + args.compile_precisions:
        if precision not in PRECISIONS:
            parser.error(f"precision {precision!r} is not one of {PRECISIONS}")
    if 1 not in args.runs_per_gpu:
        parser.error("--runs-per-gpu must include 1, the baseline of the packing gain")
    device = torch.device(args.device)
    batch_size = config["training"]["batch_size"]
    started = time.perf_counter()
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda"
              else "cpu", "batch_size": batch_size, "args": vars(args), "phase_s": {}}
    dataset = random_trajectories(TRAIN_ENV, args.trajectories, args.dataset_steps)
    for phase, measure in (
            ("training", lambda: training_costs(args, device, batch_size, dataset)),
            ("evaluation", lambda: evaluation_costs(args, config, device)),
            ("packing_gain", lambda: packing_gains(args, batch_size))):
        start = time.perf_counter()
        report[phase] = measure()
        report["phase_s"][phase] = time.perf_counter() - start
    report["projections"] = projections(config, report, args)
    report["total_s"] = time.perf_counter() - started
    print(json.dumps(report, indent=2))
    default = next((row for row in report["projections"] if row["precision"] == "tf32"
                    and row["compile"] == "off" and row["runs_per_gpu"] == 1
                    and row["eval_workers"] == configured_workers(config)), None)
    runs = len(enumerate_runs(config))
    for label, row in (("as configured (tf32, eager, 1 run per GPU)", default),
                       ("best measured setting", report["projections"][0])):
        if row is not None:
            print(f"projected {report['device']}-hours of config.yaml, {label}: "
                  f"{row['hours']:.2f} for {row['runs']} of {runs} runs ({row})")


if __name__ == "__main__":
    main()
