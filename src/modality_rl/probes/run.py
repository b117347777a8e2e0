"""Probe one checkpoint of one run on its env's probe batch and write the HDF5 dump."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import torch

from modality_rl.data.probe_batch import load_probe_batch
from modality_rl.checkpoints import load_checkpoint
from modality_rl.io import sha256_file
from modality_rl.probes.activations import ACTIVATION_SECTIONS, record_activations
from modality_rl.probes.dump import write_probe_dump
from modality_rl.probes.gradients import GradientConfig, gradient_probe
from modality_rl.code import code_digest
from modality_rl.provenance import config_hash
from modality_rl.spec import to_data
from modality_rl.training import RunSettings

log = logging.getLogger(__name__)


def load_checkpoint_model(settings: RunSettings, checkpoint: str | os.PathLike,
                          device: torch.device | str = "cpu"):
    """The run's model (eager attention) with the checkpoint's weights."""
    model = settings.build_model()
    model.load_state_dict(load_checkpoint(checkpoint))
    return model.to(device)


def probe_checkpoint(settings: RunSettings, epoch: int, checkpoint: str | os.PathLike,
                     probe_batch: str | os.PathLike, target: str | os.PathLike,
                     sections: Sequence[str], gradients: GradientConfig | None = None,
                     device: torch.device | str = "cpu") -> None:
    """The dump `sections` (analyses.DUMP_SECTIONS) of one checkpoint: activations and
    attention in eval mode, the gradient probe (train mode) when "gradients" is one."""
    if ("gradients" in sections) != (gradients is not None):
        raise ValueError("the gradient probe's settings go with the 'gradients' section: "
                         f"sections {list(sections)}, settings {gradients}")
    model = load_checkpoint_model(settings, checkpoint, device)
    batch = load_probe_batch(probe_batch)
    recorded = [s for s in sections if s in ACTIVATION_SECTIONS]
    activations = record_activations(model, batch, recorded, device)
    log.info("recorded %s on %d probe windows", ", ".join(recorded) or "nothing", len(batch))
    gradient_result = None
    if gradients is not None:
        gradient_result = gradient_probe(model, batch, gradients, "vmap", device)
        log.info("gradient norms: mean %.4g, max %.4g; minimum cosine %.4g",
                 float(gradient_result.sample_norms.mean()), gradient_result.sample_norms.max(),
                 gradient_result.cosines.min())
    attrs = {**settings.run.wildcards, "epoch": epoch, "checkpoint": os.fspath(checkpoint),
             "checkpoint_sha256": sha256_file(checkpoint),
             "config_hash": config_hash({"settings": to_data(settings),
                                         "gradients": to_data(gradients)}),
             "code": code_digest([__file__]), "probe_batch": os.fspath(probe_batch)}
    write_probe_dump(target, batch, activations, gradient_result, attrs, sections)
    log.info("wrote %s", target)
