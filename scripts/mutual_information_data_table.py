"""MINE between data at the same step of the probe batch: I(s_t; a_t) and I(R_t; a_t)."""

from dataclasses import dataclass

import torch

from modality_rl.cli import parse_job
from modality_rl.data.probe_batch import load_probe_batch
from modality_rl.metrics.mine import MineConfig
from modality_rl.tables import write_table
from modality_rl.tables.mutual_information import data_table


@dataclass(frozen=True, kw_only=True)
class MutualInformationDataJob:
    probe_batch: str
    coordinates: dict[str, str]  # env, dataset
    mine: MineConfig  # config key analysis.mutual_information, less experiment and epoch
    out: str


def main() -> None:
    job, runtime = parse_job(MutualInformationDataJob, __doc__)
    torch.set_num_threads(runtime.threads)
    write_table(data_table(load_probe_batch(job.probe_batch), job.coordinates, job.mine),
                job.out)


if __name__ == "__main__":
    main()
