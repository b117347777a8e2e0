"""Batched vs sequential MINE: wall time of the same estimates, and their ratio.

    python bench/mine.py --estimators 60 --iterations 100

Pairs are shaped like the paper's use: x is (samples, 768) activations, z is (samples,
11) states, (samples, 3) actions or (samples, 1) returns, in turn. Batched trains all
estimators in one `mine_estimates` call; sequential calls `mine_estimate` once per pair
with the same seed; the script checks that they give the same estimates. A tiny call
first keeps torch's one-off start-up out of both timings.

A batch of E and a batch of 1 round float32 matmuls differently (~1e-7) and training
amplifies it: the estimates agree to ~1e-6 after 10 epochs but only to ~1e-2 after 100.
So the float32 check is at --atol 0.05 by default, the float64 one (`--dtype float64`,
where they agree to ~1e-15) at 1e-4.
"""

import argparse
import json
import time

import numpy as np
import torch

from modality_rl.metrics.mine import MineConfig, mine_estimate, mine_estimates

Z_WIDTHS = (11, 3, 1)  # states, actions, returns


def random_pairs(estimators: int, samples: int,
                 seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """x ~ N(0, I_768); z a noisy random projection of x, so MI is neither 0 nor huge."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(estimators):
        x = rng.normal(size=(samples, 768)).astype(np.float32)
        dz = Z_WIDTHS[i % len(Z_WIDTHS)]
        z = x @ rng.normal(size=(768, dz)) / np.sqrt(768) + rng.normal(size=(samples, dz))
        pairs.append((x, z.astype(np.float32)))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estimators", type=int, default=60)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--atol", type=float, default=None, help="0.05 float32, 1e-4 float64")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = random_pairs(args.estimators, args.samples)
    config = MineConfig(hidden=args.hidden, iterations=args.iterations)
    dtype = getattr(torch, args.dtype)
    atol = args.atol if args.atol is not None else {"float32": 0.05, "float64": 1e-4}[args.dtype]
    mine_estimates(pairs[:2], MineConfig(hidden=8, iterations=1))  # torch's one-off start-up
    start = time.perf_counter()
    batched = mine_estimates(pairs, config, dtype=dtype)
    timings = {"batched": time.perf_counter() - start}
    start = time.perf_counter()
    sequential = np.array([mine_estimate(x, z, config, seed=i, dtype=dtype)
                           for i, (x, z) in enumerate(pairs)])
    timings["sequential"] = time.perf_counter() - start
    difference = np.nanmax(np.abs(batched - sequential)) if np.isfinite(batched).any() else 0.0
    assert np.allclose(batched, sequential, rtol=0, atol=atol, equal_nan=True), difference
    timings["ratio"] = timings["sequential"] / timings["batched"]
    timings["atol"] = atol
    timings["max_abs_difference"] = float(difference)
    timings["mean_estimate"] = float(np.nanmean(batched))
    timings["nan_estimates"] = int(np.isnan(batched).sum())
    print(json.dumps({**vars(args), **timings}, indent=2))


if __name__ == "__main__":
    main()
