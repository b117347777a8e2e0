"""Write the real architecture of a pre-trained backbone with RANDOM weights, as a
save_pretrained directory (backbones.<key>.source: architecture; not pre-trained)."""

from dataclasses import dataclass

from modality_rl.cli import parse_job
from modality_rl.models.backbones import save_random_architecture


@dataclass(frozen=True, kw_only=True)
class InitBackboneJob:
    architecture: str  # backbones.<key>.name: a directory holding the config.json
    seed: int  # backbones.<key>.seed: the random weights
    out: str  # output directory


def main() -> None:
    job, _ = parse_job(InitBackboneJob, __doc__)
    save_random_architecture(job.architecture, job.out, job.seed)


if __name__ == "__main__":
    main()
