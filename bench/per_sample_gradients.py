"""vmap vs loop per-sample gradients: wall time of the same gradient probe, and the ratio.

    python bench/per_sample_gradients.py --samples 100 --n-layer 3 --n-embd 128

Both run `probes.gradients.gradient_probe` on the same random windows (K = 20) with a
Decision Transformer whose random body has the given size, in eval mode so that they
must agree (checked); the pipeline probes in train mode, which costs the same.
"""

import argparse
import json
import time

import numpy as np
from _model import add_model_arguments, random_decision_transformer, random_windows

from modality_rl.probes.gradients import GradientConfig, gradient_probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--cosine-samples", type=int, default=50)
    parser.add_argument("--chunk-size", type=int, default=10)
    add_model_arguments(parser)
    args = parser.parse_args()
    model = random_decision_transformer(args)
    batch = random_windows(args.samples, args.context_length, args.env)
    cfg = GradientConfig(max_norm=0.25, norm_samples=args.samples,
                         cosine_samples=args.cosine_samples, chunk_size=args.chunk_size, seed=0)
    timings, results = {}, {}
    for method in ("vmap", "loop"):
        start = time.perf_counter()
        results[method] = gradient_probe(model, batch, cfg, method, train_mode=False)
        timings[method] = time.perf_counter() - start
    assert np.allclose(results["vmap"].sample_norms, results["loop"].sample_norms, rtol=1e-4)
    assert np.allclose(results["vmap"].cosines, results["loop"].cosines, atol=1e-4)
    timings["ratio"] = timings["loop"] / timings["vmap"]
    print(json.dumps({**vars(args), **timings}, indent=2))


if __name__ == "__main__":
    main()
