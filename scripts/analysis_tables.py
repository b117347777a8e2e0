"""One (env, dataset, seed) partition of each of an analysis' tables (CKA, mutual
information, parameter change, gradients, attention distance), from the probe dumps or
checkpoints of the runs it reads. The analyses and their tables: modality_rl.analyses."""

from dataclasses import dataclass
from typing import Any

from modality_rl.analyses import ANALYSES
from modality_rl.allocator import release_freed_memory_eagerly
from modality_rl.cli import Runtime, parse_job
from modality_rl.devices import select_device
from modality_rl.tables import write_tables
from modality_rl.tables.builders import build_tables


@dataclass(frozen=True, kw_only=True)
class AnalysisTablesJob:
    analysis: str  # a key of modality_rl.analyses.ANALYSES
    inputs: dict[str, dict[int, str]]  # {model: {epoch: probe dump, or checkpoint}}
    coordinates: dict[str, str | int]  # experiment, env, dataset, seed: columns of every row
    epochs: tuple[int, ...]
    settings: dict[str, Any]  # config key analysis.<analysis>, less experiment and epochs
    out: dict[str, str]  # {table: partition CSV}


def device_for(job: AnalysisTablesJob, runtime: Runtime):
    """A GPU slot for the analyses that train (MINE); the others load no torch."""
    if not ANALYSES[job.analysis].gpu:
        return "cpu"
    import torch

    torch.set_num_threads(runtime.threads)
    return select_device(runtime.device, runtime.runs_per_gpu)


def main() -> None:
    job, runtime = parse_job(AnalysisTablesJob, __doc__)
    release_freed_memory_eagerly()  # the job's peak is then its largest live set
    device = device_for(job, runtime)
    write_tables(build_tables(job.analysis, job.inputs, job.coordinates, job.epochs,
                              job.settings, device), job.out)


if __name__ == "__main__":
    main()
