"""What every script in scripts/ shares: its job spec from the command line, logging to
stderr (which the rules send to the job's log file), and the runtime options.

A script is run as `python scripts/<job>.py SPEC [--threads N] [--device auto|cpu]
[--tracking JSON]`. SPEC (a JSON object, or @file.json) fixes what the job computes and
where it writes; the runtime options only say how fast, and where a training job shows its
live curves, so they are kept out of it.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from typing import TypeVar

from modality_rl.spec import SpecError, load_spec, spec_help

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Runtime:
    threads: int  # CPU threads (torch, MuJoCo workers): the rule's threads
    device: str  # auto: a GPU slot of its own when there are GPUs; cpu: never a GPU
    runs_per_gpu: int  # GPU slots per device (config key compute.runs_per_gpu)
    # --tracking: where a training job shows its live curves (config key tracking), the
    # JSON of a tracking.TrackingConfig, read by that job alone (so no other job's code
    # digest holds the tracking module).
    tracking: str | None


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def parse_job(cls: type[T], description: str | None) -> tuple[T, Runtime]:
    """The script's spec (a `cls`) and runtime options from sys.argv; `--help` lists the
    spec's fields. A spec that does not fit `cls` stops the script naming the field."""
    parser = argparse.ArgumentParser(description=description, epilog=spec_help(cls),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", metavar="SPEC", help="the job spec: JSON, or @file.json")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu"),
                        help="auto: a GPU slot of its own when there are GPUs (default)")
    parser.add_argument("--runs-per-gpu", type=int, default=1,
                        help="jobs that may share one GPU (default 1)")
    parser.add_argument("--tracking", metavar="JSON",
                        help="where a training job logs its live curves (default: nowhere)")
    args = parser.parse_args()
    setup_logging()
    try:
        spec = load_spec(cls, args.spec)
    except SpecError as err:
        parser.error(str(err))
    logging.getLogger(__name__).info("%s: %s", cls.__name__, args.spec)
    return spec, Runtime(threads=args.threads, device=args.device,
                         runs_per_gpu=args.runs_per_gpu, tracking=args.tracking)
