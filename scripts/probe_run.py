"""Probe a run's checkpoints: one HDF5 dump per epoch, holding the sections its analyses read."""

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from modality_rl import paths
from modality_rl.analyses import DUMP_SECTIONS
from modality_rl.allocator import release_freed_memory_eagerly
from modality_rl.cli import parse_job
from modality_rl.devices import select_device
from modality_rl.probes.gradients import GradientConfig
from modality_rl.probes.run import probe_checkpoint
from modality_rl.spec import SpecError
from modality_rl.training import RunSettings


@dataclass(frozen=True, kw_only=True)
class ProbeJob:
    settings: RunSettings  # the run's, as its training job had them
    # {epoch: the dump sections the analyses reading it need} (analyses.probe_sections)
    sections: dict[int, tuple[str, ...]]
    # config key analysis.gradients, less experiment and epoch: given where some epoch has
    # the "gradients" section
    gradients: GradientConfig | None
    checkpoints: str  # the run's checkpoint directory
    probe_batch: str
    out: str  # directory for one dump per epoch

    def __post_init__(self) -> None:
        for epoch, sections in self.sections.items():
            unknown = sorted(set(sections) - set(DUMP_SECTIONS))
            if unknown:
                raise SpecError(f"spec.sections[{epoch}]: unknown section(s) {unknown}; "
                                f"dump sections are {DUMP_SECTIONS}")
        probed = any("gradients" in sections for sections in self.sections.values())
        if probed != (self.gradients is not None):
            raise SpecError("spec.gradients goes with a 'gradients' section: give the "
                            "settings where some epoch has the section, else null")


def main() -> None:
    job, runtime = parse_job(ProbeJob, __doc__)
    release_freed_memory_eagerly()  # the job's peak is then its largest live set
    torch.set_num_threads(runtime.threads)
    device = select_device(runtime.device, runtime.runs_per_gpu)
    Path(job.out).mkdir(parents=True, exist_ok=True)
    for epoch, sections in tqdm(job.sections.items(), desc="probe epochs"):
        probe_checkpoint(job.settings, epoch, paths.checkpoint(job.checkpoints, epoch),
                         job.probe_batch, paths.dump(job.out, epoch), sections,
                         job.gradients if "gradients" in sections else None, device)


if __name__ == "__main__":
    main()
