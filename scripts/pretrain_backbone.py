"""Pre-train one tiny offline backbone (language or image, in any family's architecture)
and save it with save_pretrained."""

from dataclasses import dataclass
from typing import Literal

import torch

from modality_rl.cli import parse_job
from modality_rl.pretraining import PretrainConfig, pretrain


@dataclass(frozen=True, kw_only=True)
class PretrainJob:
    modality: Literal["language", "image"]
    pretraining: PretrainConfig  # config key pretraining.<modality>
    out: str  # output directory
    # A family of modality_rl.models.families.ARCHITECTURES; None: the modality's own
    # (gpt2 for language, imagegpt for image).
    architecture: str | None = None


def main() -> None:
    job, runtime = parse_job(PretrainJob, __doc__)
    torch.set_num_threads(runtime.threads)
    pretrain(job.modality, job.pretraining, job.out, job.architecture)


if __name__ == "__main__":
    main()
