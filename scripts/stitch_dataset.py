"""Stitch a D4RL dataset from others, as D4RL made medium-expert from medium and expert
(scripts/generation/mujoco/stitch_dataset.py), where no source serves it as a file."""

import logging
from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.data.datasets import STITCH_MAX_TRANSITIONS, ingredients
from modality_rl.data.schema import (read_d4rl_arrays, stitch, verify_d4rl_file,
                                     write_d4rl_hdf5)
from modality_rl.io import atomic_path


@dataclass(frozen=True, kw_only=True)
class StitchJob:
    env: str
    dataset: str  # medium-expert
    parts: dict[str, str]  # {dataset: its verified file}, in stitching order
    out: str


def main() -> None:
    job, _ = parse_job(StitchJob, __doc__)
    if tuple(job.parts) != ingredients(job.dataset):
        raise SystemExit(f"{job.dataset} is stitched from {ingredients(job.dataset)}, "
                         f"not {list(job.parts)}")
    arrays = stitch([read_d4rl_arrays(path) for path in job.parts.values()],
                    STITCH_MAX_TRANSITIONS)
    provenance = (f"stitched from {' and '.join(job.parts)} as D4RL's stitch_dataset.py "
                  f"stitches (the first cut at its last episode's end, at most "
                  f"{STITCH_MAX_TRANSITIONS} transitions), from {list(job.parts.values())}; "
                  "D4RL's own file may order its parts otherwise")
    with atomic_path(job.out) as tmp:
        write_d4rl_hdf5(arrays, tmp, {"env": job.env, "dataset": job.dataset,
                                      "provenance": provenance})
        n = verify_d4rl_file(tmp, job.env)
    logging.info("%s %s: %d transitions, %s", job.env, job.dataset, n, provenance)


if __name__ == "__main__":
    main()
