"""Batched vs sequential MINE: wall time of the same estimates, and their ratio; or,
with --before, today's batched MINE against its code at an earlier commit.

    python bench/mine.py --estimators 60 --iterations 100
    python bench/mine.py --before b48bf18 --estimators 1152 --width 128 --hidden 32 \
        --iterations 20 --learning-rate 1e-3          # a quick-preset partition's shapes

Pairs are shaped like the paper's use: x is (samples, 768) activations, z is (samples,
11) states, (samples, 3) actions or (samples, 1) returns, in turn. Batched trains all
estimators in one `mine_estimates` call; sequential calls `mine_estimate` once per pair
with the same seed; the script checks that they give the same estimates. A tiny call
first keeps torch's one-off start-up out of both timings.

A batch of E and a batch of 1 round float32 matmuls differently (~1e-7) and training
amplifies it: the estimates agree to ~1e-6 after 10 epochs but only to ~1e-2 after 100.
So the float32 check is at --atol 0.05 by default, the float64 one (`--dtype float64`,
where they agree to ~1e-15) at 1e-4.

With --before, `mine_estimates_with_null` (the estimates and their null baselines, as the
mutual-information tables train them) of `modality_rl/metrics/mine.py` at that commit
(loaded from git) and of today's run in --rounds interleaved rounds on the same pairs;
the script checks that the two give bit-identical estimates and prints the median of
each and their ratio.
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch

from _model import module_at
from modality_rl.metrics import mine
from modality_rl.metrics.mine import MineConfig, mine_estimate, mine_estimates

Z_WIDTHS = (11, 3, 1)  # states, actions, returns


def random_pairs(estimators: int, samples: int, width: int = 768,
                 seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """x ~ N(0, I_width); z a noisy random projection of x, so MI is neither 0 nor huge."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(estimators):
        x = rng.normal(size=(samples, width)).astype(np.float32)
        dz = Z_WIDTHS[i % len(Z_WIDTHS)]
        z = x @ rng.normal(size=(width, dz)) / np.sqrt(width) + rng.normal(size=(samples, dz))
        pairs.append((x, z.astype(np.float32)))
    return pairs


def batched_vs_sequential(pairs, config: MineConfig, dtype: torch.dtype, atol: float) -> dict:
    start = time.perf_counter()
    batched = mine_estimates(pairs, config, dtype=dtype)
    timings = {"batched": time.perf_counter() - start}
    start = time.perf_counter()
    sequential = np.array([mine_estimate(x, z, config, seed=i, dtype=dtype)
                           for i, (x, z) in enumerate(pairs)])
    timings["sequential"] = time.perf_counter() - start
    difference = np.nanmax(np.abs(batched - sequential)) if np.isfinite(batched).any() else 0.0
    assert np.allclose(batched, sequential, rtol=0, atol=atol, equal_nan=True), difference
    return {**timings, "ratio": timings["sequential"] / timings["batched"], "atol": atol,
            "max_abs_difference": float(difference),
            "mean_estimate": float(np.nanmean(batched)),
            "nan_estimates": int(np.isnan(batched).sum())}


def before_vs_now(pairs, commit: str, config: MineConfig, dtype: torch.dtype,
                  rounds: int) -> dict:
    """Median seconds of the two versions' estimates and nulls, interleaved round by round."""
    versions = {"before": module_at(commit, "src/modality_rl/metrics/mine.py"), "now": mine}
    seconds: dict[str, list[float]] = {name: [] for name in versions}
    results = {}
    for _ in range(rounds):
        for name, module in versions.items():
            start = time.perf_counter()
            results[name] = module.mine_estimates_with_null(
                pairs, module.MineConfig(**vars(config)), dtype=dtype)
            seconds[name].append(time.perf_counter() - start)
    for before, now in zip(results["before"], results["now"]):
        assert np.array_equal(before, now, equal_nan=True), "the versions' estimates differ"
    median = {name: statistics.median(s) for name, s in seconds.items()}
    return {"seconds": seconds, "median": median,
            "speedup_over_before": median["before"] / median["now"], "identical": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estimators", type=int, default=60)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--width", type=int, default=768, help="x's width (activations)")
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--learning-rate", type=float, default=MineConfig.learning_rate)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--atol", type=float, default=None, help="0.05 float32, 1e-4 float64")
    parser.add_argument("--before", metavar="COMMIT",
                        help="compare with mine.py at this commit instead of sequential")
    parser.add_argument("--rounds", type=int, default=3, help="with --before (default 3)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = random_pairs(args.estimators, args.samples, args.width)
    config = MineConfig(hidden=args.hidden, iterations=args.iterations,
                        learning_rate=args.learning_rate)
    dtype = getattr(torch, args.dtype)
    atol = args.atol if args.atol is not None else {"float32": 0.05, "float64": 1e-4}[args.dtype]
    mine_estimates(pairs[:2], MineConfig(hidden=8, iterations=1))  # torch's one-off start-up
    report = (before_vs_now(pairs, args.before, config, dtype, args.rounds) if args.before
              else batched_vs_sequential(pairs, config, dtype, atol))
    print(json.dumps({**vars(args), **report}, indent=2))


if __name__ == "__main__":
    main()
