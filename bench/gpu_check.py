"""One bounded GPU check at the paper's shapes (meant to fit in 8 minutes on one H100 or
H200), and the projected device-hours of config.yaml from its numbers.

    python bench/gpu_check.py --device cuda --json gpu_check.json
    python bench/gpu_check.py --device cpu --tiny --steps 2 --warmup 1 --episodes 1 \\
        --max-steps 3 --no-compile --workers 0 --probe-batch 4 --probe-samples 2 \\
        --dataset-steps 2000 --trajectories 20            # a rehearsal (tests/test_bench.py)

The selection of bench/paper_cost.py that fits one short loan of a device, plus a probe
job; paper_cost's functions do the measuring and the projection:

1. **Training step** (paper_cost.training_costs): ms per step for the bodies random
   (12 x 768, 1 head, ReLU), gpt2 (12 x 768, 12 heads) and igpt (ImageGPT-small in GPT-2
   blocks: 24 x 512, 8 heads), random weights of those architectures, batch 64, at K = 20
   and 1, in fp32, TF32 and bf16, eager; and under torch.compile (config key
   `training.compile`) in TF32 at --compile-ks only (compile time reported apart).
2. **Evaluation** (paper_cost.evaluation_costs): one evaluation per body, K and number of
   stepping workers of --episodes episodes x 2 targets, episodes up to --max-steps steps,
   on Hopper, in --eval-precision (plus one untimed warm-up per K and workers). The
   projection prices every env's evaluation step at Hopper's.
3. **Probe job** (modality_rl.probes.run.probe_checkpoint, as scripts/probe_run.py calls
   it): one checkpoint of a --probe-body-shaped model on a probe batch of the configured
   size (100 windows, K = 20), every dump section with the gradient probe (100 norms, 50
   cosines), then every section but the gradient probe (what most dumps hold).

Projection: paper_cost.projections (training + evaluation of every run, one run per
device, no packing measured here) plus the probe dumps of config.yaml, each priced at the
measured probe job with or without the gradient probe.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
import time
from pathlib import Path

import paper_cost
import torch
import yaml
from _model import random_d4rl_arrays, random_trajectories
from paper_cost import BODIES, PRECISIONS, TRAIN_ENV, configured_workers, log, parse_list

from modality_rl.analyses import DUMP_SECTIONS, analysis_settings, probe_sections
from modality_rl.data.probe_batch import ProbeBatchConfig, make_probe_batch
from modality_rl.data.schema import write_d4rl_hdf5
from modality_rl.models.backbones import RandomBodyConfig
from modality_rl.probes.gradients import GradientConfig
from modality_rl.probes.run import probe_checkpoint
from modality_rl.runs import Run, enumerate_runs, run_settings
from modality_rl.spec import from_data
from modality_rl.training import RunSettings

EVAL_ENV = "hopper"
# --tiny: each body's architecture (heads, activation, igpt twice as deep) at a width a
# CPU rehearsal can afford.
TINY_BODIES = {"random": RandomBodyConfig(n_layer=2, n_embd=32, n_head=1, activation="relu"),
               "gpt2": RandomBodyConfig(n_layer=2, n_embd=32, n_head=4, activation="gelu_new"),
               "igpt": RandomBodyConfig(n_layer=4, n_embd=32, n_head=4,
                                        activation="quick_gelu")}


def with_args(args: argparse.Namespace, **overrides) -> argparse.Namespace:
    """`args` as one of paper_cost's phases reads them."""
    return argparse.Namespace(**{**vars(args), **overrides})


def configured_setting(config: dict) -> tuple[str, str]:
    """(precision, compile) of config.yaml's training section."""
    training = config["training"]
    precision = "bf16" if training["bf16"] else (
        "fp32" if training["matmul_precision"] == "highest" else "tf32")
    return precision, "on" if training["compile"] else "off"


# -- the phases ------------------------------------------------------------------------
def training_phase(args, device: torch.device, batch_size: int, dataset: list) -> dict:
    """Eager at every body, K and precision; compiled at --compile-ks in TF32."""
    costs = paper_cost.training_costs(with_args(args, compile=[False]), device, batch_size,
                                      dataset)
    if args.compile:
        compiled = paper_cost.training_costs(
            with_args(args, ks=args.compile_ks, compile=[True], compile_precisions=["tf32"]),
            device, batch_size, dataset)
        for body, ks in compiled["ms_per_step"].items():
            for k, precisions in ks.items():
                for precision, ms in precisions.items():
                    costs["ms_per_step"][body][k].setdefault(precision, {}).update(ms)
        costs["compile_and_warmup_s"] = compiled["compile_and_warmup_s"]
    return costs


def evaluation_phase(args, config: dict, device: torch.device) -> dict:
    """One evaluation per body, K and workers on Hopper (--episodes per target)."""
    config = copy.deepcopy(config)
    config["evaluation"]["episodes"] = args.episodes
    return paper_cost.evaluation_costs(
        with_args(args, envs=[EVAL_ENV], precisions=[args.eval_precision],
                  eval_steps=args.max_steps), config, device)


def probe_settings(config: dict, body: str) -> RunSettings:
    """A main run whose model has the shape of `body` (random weights)."""
    config = copy.deepcopy(config)
    shape = BODIES[body]
    config["backbones"]["random"] = {"n_layer": shape.n_layer, "n_embd": shape.n_embd,
                                     "n_head": shape.n_head, "activation": shape.activation}
    run = Run(experiment="main", model="random", env=EVAL_ENV, dataset="medium", seed=666)
    return from_data(RunSettings, run_settings(config, run, {}, checkpoint_epochs=[]))


def probe_phase(args, config: dict, device: torch.device) -> dict:
    """Seconds of one probe job on one checkpoint: every section with the gradient probe,
    then every section but it."""
    settings = probe_settings(config, args.probe_body)
    gradients = from_data(GradientConfig, {
        **analysis_settings(config, "gradients"),
        **({"norm_samples": args.probe_samples, "cosine_samples": args.probe_samples}
           if args.probe_samples else {})})
    result = {"body": args.probe_body, "batch_size": args.probe_batch,
              "norm_samples": gradients.norm_samples,
              "cosine_samples": gradients.cosine_samples}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        checkpoint, dataset, batch = work / "epoch1.pt", work / "data.hdf5", work / "batch.hdf5"
        torch.save(settings.build_model().state_dict(), checkpoint)
        write_d4rl_hdf5(random_d4rl_arrays(EVAL_ENV, args.trajectories, args.dataset_steps),
                        dataset, {"env": EVAL_ENV})
        probe = config["probe"]
        make_probe_batch(dataset, batch, ProbeBatchConfig(
            batch_size=args.probe_batch, context_length=probe["context_length"],
            seed=probe["seed"]))
        without = tuple(s for s in DUMP_SECTIONS if s != "gradients")
        for label, sections, settings_of_gradients in (
                ("all_sections_s", DUMP_SECTIONS, gradients), ("no_gradients_s", without, None)):
            start = time.perf_counter()
            probe_checkpoint(settings, 1, checkpoint, batch, work / f"{label}.hdf5", sections,
                             settings_of_gradients, device)
            paper_cost.synchronise(device)
            result[label] = time.perf_counter() - start
            log({"probe": args.probe_body, "sections": list(sections), "s": result[label]})
    return result


# -- the projection --------------------------------------------------------------------
def probe_hours(config: dict, probe: dict) -> dict:
    """config.yaml's probe dumps, each priced at the measured job (gradient probe or not;
    every body at --probe-body's cost)."""
    dumps = [sections for run in enumerate_runs(config)
             for sections in probe_sections(config, run).values()]
    with_gradients = sum("gradients" in sections for sections in dumps)
    seconds = (with_gradients * probe["all_sections_s"]
               + (len(dumps) - with_gradients) * probe["no_gradients_s"])
    return {"dumps": len(dumps), "with_gradient_probe": with_gradients,
            "hours": seconds / 3600}


def projection(config: dict, report: dict, args) -> dict:
    """paper_cost's projection of training and evaluation (every env's evaluation step
    priced at Hopper's; one run per device), the probe dumps', and the configured total."""
    evaluation = report["evaluation"]
    per_env = {"build_s": {env: evaluation["build_s"][EVAL_ENV] for env in config["envs"]},
               "ms_per_step": {env: evaluation["ms_per_step"][EVAL_ENV]
                               for env in config["envs"]}}
    gain = {1: {body: {k: 1.0 for k in args.ks} for body in args.bodies}}
    rows = paper_cost.projections(
        config, {"training": report["training"], "evaluation": per_env, "packing_gain": gain},
        args, eval_precision=args.eval_precision)
    setting = configured_setting(config)
    # config.yaml's precision and compile; its evaluation workers where they were measured.
    candidates = [row for row in rows if (row["precision"], row["compile"]) == setting]
    candidates.sort(key=lambda row: row["eval_workers"] != configured_workers(config))
    configured = (candidates or rows)[0]
    runs = len(enumerate_runs(config))
    # Compiled steps are measured at --compile-ks only: their rows price fewer runs, so
    # the cheapest is taken among the rows that price the most.
    most = max(row["runs"] for row in rows)
    cheapest = next(row for row in rows if row["runs"] == most)
    probes = probe_hours(config, report["probe"])
    return {"rows": rows, "configured": configured, "cheapest": cheapest,
            "probes": probes, "runs": runs, "total_hours": configured["hours"] + probes["hours"]}


def parse(config: dict) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
    parser.add_argument("--episodes", type=int, default=config["evaluation"]["episodes"],
                        help="per target, 2 targets")
    parser.add_argument("--max-steps", type=int,
                        default=config["evaluation"]["max_episode_steps"], help="per episode")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="also time torch.compile'd steps (TF32, --compile-ks)")
    parser.add_argument("--compile-ks", type=parse_list(int), default=[20])
    parser.add_argument("--bodies", type=parse_list(str), default=list(BODIES))
    parser.add_argument("--ks", type=parse_list(int), default=[20, 1])
    parser.add_argument("--precisions", type=parse_list(str), default=list(PRECISIONS))
    parser.add_argument("--eval-precision", default="tf32", choices=PRECISIONS)
    parser.add_argument("--workers", type=parse_list(int),
                        default=[0, configured_workers(config)],
                        help="evaluation stepping processes to measure")
    parser.add_argument("--probe-body", default="gpt2", choices=list(BODIES))
    parser.add_argument("--probe-batch", type=int, default=config["probe"]["batch_size"])
    parser.add_argument("--probe-samples", type=int, default=None,
                        help="gradient-probe norms and cosines (default: config.yaml's)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny bodies of the same architectures: a CPU rehearsal")
    parser.add_argument("--trajectories", type=int, default=2186, help="of the dataset")
    parser.add_argument("--dataset-steps", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    for precision in args.precisions:
        if precision not in PRECISIONS:
            parser.error(f"precision {precision!r} is not one of {PRECISIONS}")
    if args.eval_precision not in args.precisions:
        parser.error("--eval-precision must be one of --precisions")
    return args


def main() -> None:
    config = yaml.safe_load(paper_cost.CONFIG.read_text())
    args = parse(config)
    if args.tiny:
        BODIES.update(TINY_BODIES)  # paper_cost builds every body from this dict
    device = torch.device(args.device)
    batch_size = config["training"]["batch_size"]
    started = time.perf_counter()
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "batch_size": batch_size,
              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "phase_s": {}}
    dataset = random_trajectories(TRAIN_ENV, args.trajectories, args.dataset_steps)
    for phase, run_phase in (
            ("training", lambda: training_phase(args, device, batch_size, dataset)),
            ("evaluation", lambda: evaluation_phase(args, config, device)),
            ("probe", lambda: probe_phase(args, config, device))):
        start = time.perf_counter()
        report[phase] = run_phase()
        report["phase_s"][phase] = time.perf_counter() - start
    report["projection"] = projection(config, report, args)
    report["total_s"] = time.perf_counter() - started
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.json is not None:
        args.json.write_text(text)
    summary = report["projection"]
    configured = summary["configured"]
    print(f"projected {report['device']}-hours of config.yaml ({configured['runs']} of "
          f"{summary['runs']} runs, {configured['precision']}, compile {configured['compile']}, "
          f"{configured['eval_workers']} evaluation workers): training and evaluation "
          f"{configured['hours']:.2f} + probes {summary['probes']['hours']:.2f} = "
          f"{summary['total_hours']:.2f}; cheapest measured setting of as many runs: "
          f"{summary['cheapest']['hours']:.2f} ({summary['cheapest']})")
    if not math.isfinite(summary["total_hours"]):
        raise SystemExit("the projection is not finite")


if __name__ == "__main__":
    main()
