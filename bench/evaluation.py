"""Evaluation variants side by side: wall time per evaluation and env steps taken.

    python bench/evaluation.py --env halfcheetah --episodes 100 --max-episode-steps 100
    python bench/evaluation.py --env hopper --episodes 100 --max-episode-steps 1000
    python bench/evaluation.py --variants sequential,evaluator   # the paper's loop too

Each variant evaluates one Decision Transformer (random body, sizes from the flags) on
the same seeded episodes of --targets targets, --evaluations times (as a run evaluates
after every epoch):
- sequential: the paper's loop, one episode and one forward pass at a time;
- before: `evaluate_batched` as it was at --before (loaded from git): a vector env of
  all episodes built at every evaluation, auto-resetting finished episodes and still
  stepping and forwarding them;
- evaluator: today's `Evaluator`, envs built once; in-process (--workers 0), with
  worker processes stepping all episodes while the model waits (overlap off), and
  with the two halves of the episodes overlapping forward pass and stepping.
Env steps are counted where the envs step. The script checks that all variants agree on
episode lengths.
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np
from _model import add_model_arguments, module_at, random_decision_transformer

from modality_rl.envs import env_spec, make_env
from modality_rl.evaluation import EvalConfig, Evaluator, evaluate_sequential


class CountingEnv(gym.Wrapper):
    """Counts env.step calls across all its instances."""
    steps = 0

    def step(self, action):
        CountingEnv.steps += 1
        return self.env.step(action)


def time_before(model, cfg, evaluations: int, commit: str) -> dict:
    old = module_at(commit, "src/modality_rl/evaluation.py")
    old.make_env = lambda env, seed: CountingEnv(make_env(env, seed))
    CountingEnv.steps = 0
    start = time.perf_counter()
    for _ in range(evaluations):
        result = old.evaluate_batched(model, cfg)
    return {"s_per_evaluation": (time.perf_counter() - start) / evaluations,
            "env_steps_per_evaluation": CountingEnv.steps // evaluations,
            "lengths": result.lengths}


def time_sequential(model, cfg, evaluations: int) -> dict:
    start = time.perf_counter()
    for _ in range(evaluations):
        result = evaluate_sequential(model, cfg)
    return {"s_per_evaluation": (time.perf_counter() - start) / evaluations,
            "env_steps_per_evaluation": int(result.lengths.sum()), "lengths": result.lengths}


def time_evaluator(model, cfg, evaluations: int, workers: int, overlap: bool) -> dict:
    start = time.perf_counter()
    with Evaluator(cfg, workers=workers, overlap=overlap) as evaluator:
        built = time.perf_counter()
        for _ in range(evaluations):
            result = evaluator.evaluate(model)
        done = time.perf_counter()
        steps = evaluator.pool.step_count()
    return {"build_s": built - start, "s_per_evaluation": (done - built) / evaluations,
            "env_steps_per_evaluation": steps // evaluations, "lengths": result.lengths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="halfcheetah", help="halfcheetah never terminates")
    parser.add_argument("--episodes", type=int, default=100, help="per target")
    parser.add_argument("--targets", type=int, default=2)
    parser.add_argument("--max-episode-steps", type=int, default=100)
    parser.add_argument("--evaluations", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variants", default="before,evaluator",
                        help="comma-separated: sequential, before, evaluator")
    parser.add_argument("--before", default="452ba88", help="commit of the old evaluation")
    add_model_arguments(parser)
    args = parser.parse_args()
    model = random_decision_transformer(args)
    spec = env_spec(args.env)
    cfg = EvalConfig(env=args.env,
                     target_returns=tuple(6000.0 - 1000 * t for t in range(args.targets)),
                     episodes=args.episodes, context_length=args.context_length,
                     state_mean=np.zeros(spec.obs_dim), state_std=np.ones(spec.obs_dim),
                     seed=0, max_episode_steps=args.max_episode_steps)
    variants = args.variants.split(",")
    timings = {}
    if "sequential" in variants:
        timings["sequential"] = time_sequential(model, cfg, args.evaluations)
    if "before" in variants:
        timings["before"] = time_before(model, cfg, args.evaluations, args.before)
    if "evaluator" in variants:
        timings["in_process"] = time_evaluator(model, cfg, args.evaluations, 0, False)
        timings[f"workers_{args.workers}"] = time_evaluator(model, cfg, args.evaluations,
                                                            args.workers, False)
        timings[f"workers_{args.workers}_overlap"] = time_evaluator(
            model, cfg, args.evaluations, args.workers, True)
    lengths = [t.pop("lengths") for t in timings.values()]
    assert all(np.array_equal(lengths[0], other) for other in lengths[1:]), "lengths differ"
    report = {**vars(args), "episode_steps": int(lengths[0].sum()), "variants": timings}
    fastest = min(timings, key=lambda name: timings[name]["s_per_evaluation"])
    report["fastest"] = fastest
    report["speedup_of_fastest_over"] = {
        name: t["s_per_evaluation"] / timings[fastest]["s_per_evaluation"]
        for name, t in timings.items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
