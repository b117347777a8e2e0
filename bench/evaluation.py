"""Batched vs sequential evaluation: wall time of the same episodes, and their ratio.

    python bench/evaluation.py --episodes 100 --max-episode-steps 100

Both evaluate one Decision Transformer (random body, sizes from the flags) on the same
seeded episodes of one target; the script checks that they agree on episode lengths.
"""

import argparse
import json
import time

import numpy as np
from _model import add_model_arguments, random_decision_transformer

from modality_rl.envs import env_spec
from modality_rl.evaluation import EvalConfig, evaluate_batched, evaluate_sequential


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="halfcheetah", help="never terminates: full episodes")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--max-episode-steps", type=int, default=100)
    add_model_arguments(parser)
    args = parser.parse_args()
    model = random_decision_transformer(args)
    spec = env_spec(args.env)
    cfg = EvalConfig(env=args.env, target_returns=(6000.0,), episodes=args.episodes,
                     context_length=args.context_length, state_mean=np.zeros(spec.obs_dim),
                     state_std=np.ones(spec.obs_dim), seed=0,
                     max_episode_steps=args.max_episode_steps)
    timings = {}
    for name, evaluate in (("batched", evaluate_batched), ("sequential", evaluate_sequential)):
        start = time.perf_counter()
        result = evaluate(model, cfg)
        timings[name] = time.perf_counter() - start
        timings[f"{name}_steps"] = int(result.lengths.sum())
    assert timings["batched_steps"] == timings["sequential_steps"]
    timings["ratio"] = timings["sequential"] / timings["batched"]
    print(json.dumps({**vars(args), **timings}, indent=2))


if __name__ == "__main__":
    main()
