"""A run's weights at an epoch, as the jobs that read them load them: a state dict the
trainer saved, or (epoch 0, paths.UNTRAINED) the untrained model rebuilt from its recipe,
the run's settings. A damaged file is reported with its path and the fix."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import torch

from modality_rl.inputs import damaged
from modality_rl.spec import SpecError, from_data
from modality_rl.training import RunSettings


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A state dict saved by training (on the CPU, weights only), or, from an untrained
    model's recipe (paths.UNTRAINED: the run's settings), the untrained model's, rebuilt."""
    if os.fspath(path).endswith(".json"):
        return untrained_weights(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except (EOFError, RuntimeError, pickle.UnpicklingError, OSError) as err:
        raise damaged(path, "checkpoint", err) from err


def untrained_weights(recipe: str | os.PathLike) -> dict:
    """The untrained model of the run whose settings `recipe` holds, built as its trainer
    built it (the same seed and code: the same weights, bit for bit)."""
    try:
        settings = from_data(RunSettings, json.loads(Path(recipe).read_text()), os.fspath(recipe))
    except (json.JSONDecodeError, SpecError) as err:
        raise damaged(recipe, "checkpoint", err) from err
    return settings.build_model().state_dict()
