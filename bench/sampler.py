"""Gathered vs per-window training windows: ms per batch, side by side in one run.

    python bench/sampler.py
    python bench/sampler.py --device cuda      # also the storage on the GPU

"before" is `WindowSampler` as it was at --before (loaded from git): a Python loop that
builds each window and concatenates them. "gather" is today's: one index array into a
flat per-step storage, in numpy on the host and, with --device, in torch on that device
(the dataset kept there). All draw from equally seeded Generators; the script checks
that every variant's windows are bit-identical to "before"'s.

The dataset is random, shaped like D4RL hopper-medium (--trajectories episodes,
--steps transitions in all).
"""

import argparse
import json
import time

import numpy as np
import torch
from _model import module_at, random_trajectories

from modality_rl.data.trajectories import state_statistics
from modality_rl.data.windows import WindowSampler


def ms_per_batch(sampler, batches: int, batch_size: int, device: torch.device | None) -> float:
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(batches):
        batch = sampler.sample(batch_size, rng)
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
    assert len(batch) == batch_size
    return (time.perf_counter() - start) / batches * 1000


def assert_identical(before, after, batch_size: int) -> None:
    for seed in range(5):
        old = before.sample(batch_size, np.random.default_rng(seed)).as_dict()
        new = after.sample(batch_size, np.random.default_rng(seed)).as_dict()
        for key, value in new.items():
            value = value.cpu().numpy() if isinstance(value, torch.Tensor) else value
            assert value.dtype == old[key].dtype and value.tobytes() == old[key].tobytes(), key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trajectories", type=int, default=2186)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--context-length", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--device", default=None, help="a torch device for the storage")
    parser.add_argument("--before", default="452ba88", help="commit of the per-window code")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trajectories = random_trajectories("hopper", args.trajectories, args.steps)
    mean, std = state_statistics(trajectories)
    old = module_at(args.before, "src/modality_rl/data/windows.py")
    before = old.WindowSampler(trajectories, args.context_length, mean, std)
    start = time.perf_counter()
    gather = WindowSampler(trajectories, args.context_length, mean, std)
    build_s = time.perf_counter() - start
    variants = {"before": (before, None), "gather_numpy": (gather, None),
                "gather_torch_cpu": (gather.to("cpu"), torch.device("cpu"))}
    if args.device is not None:
        device = torch.device(args.device)
        variants[f"gather_torch_{device.type}"] = (gather.to(device), device)
    report = {**vars(args), "storage_build_s": build_s,
              "storage_mb": gather.storage.nbytes / 2**20}
    for sampler, _ in variants.values():
        assert_identical(before, sampler, args.batch_size)
    # Interleaved rounds, median per variant: load from other processes hits all alike.
    rounds = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (sampler, device) in variants.items():
            rounds[name].append(ms_per_batch(sampler, args.batches // args.rounds,
                                             args.batch_size, device))
    report["ms_per_batch"] = {name: float(np.median(ms)) for name, ms in rounds.items()}
    report["speedup_over_before"] = {
        name: report["ms_per_batch"]["before"] / ms
        for name, ms in report["ms_per_batch"].items() if name != "before"}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
