"""Offline pre-training: the tiny models learn, and load through the hub code path."""

import json

import numpy as np
import pytest
import torch

from helpers import PAPER_DROPOUT
from modality_rl.models.backbones import PretrainedLocation, pretrained_body
from modality_rl.pretraining import (SUMMARY_FILE, PretrainConfig, kmeans_palette, pretrain,
                                     pydoc_corpus, quantise, sample_images)

pytestmark = pytest.mark.slow


LANGUAGE = PretrainConfig(n_layer=2, n_embd=32, n_head=2, steps=40, batch_size=8,
                          learning_rate=3e-3, seed=0, context_length=32)
IMAGE = PretrainConfig(n_layer=4, n_embd=32, n_head=2, steps=40, batch_size=8,
                       learning_rate=3e-3, seed=0, image_size=4, palette_size=8)


@pytest.mark.parametrize("modality, architecture, body_class, cfg", [
    ("language", None, "GPT2Model", LANGUAGE),
    ("image", None, "GPT2Model", IMAGE),  # ImageGPT, loaded into GPT-2 blocks (the paper's)
    ("language", "llama", "LlamaModel", LANGUAGE),  # any family learns either corpus
    ("image", "gpt_neox", "GPTNeoXModel", IMAGE),
])
def test_tiny_pretraining_learns_and_loads_like_a_hub_model(tmp_path, modality, architecture,
                                                            body_class, cfg):
    summary = pretrain(modality, cfg, tmp_path / modality, architecture)
    assert summary["final_loss"] < 0.8 * summary["initial_loss"]
    assert json.loads((tmp_path / modality / SUMMARY_FILE).read_text()) == summary
    body = pretrained_body("mine", PretrainedLocation(name_or_path=str(tmp_path / modality)),
                           PAPER_DROPOUT)
    assert type(body).__name__ == body_class
    assert body.config.num_hidden_layers == cfg.n_layer and body.config.hidden_size == 32
    assert not list(tmp_path.glob(".*tmp-*"))
    # Same seed, same weights.
    pretrain(modality, cfg, tmp_path / "again", architecture)
    again = pretrained_body("mine", PretrainedLocation(name_or_path=str(tmp_path / "again")),
                            PAPER_DROPOUT)
    for name, value in body.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], value, msg=name)


def test_kmeans_palette_recovers_separated_colours():
    rng = np.random.default_rng(0)
    colours = np.array([[0.1, 0.1, 0.1], [0.9, 0.2, 0.2], [0.2, 0.2, 0.9]])
    pixels = colours[rng.integers(0, 3, 600)] + rng.normal(0, 0.01, (600, 3))
    palette = kmeans_palette(pixels.copy(), 3, rng)
    assert np.abs(np.sort(palette, axis=0) - np.sort(colours, axis=0)).max() < 0.02
    assert len(np.unique(quantise(pixels, palette))) == 3


def test_offline_corpora_ship_with_installed_packages():
    assert len(pydoc_corpus()) > 100_000
    images = sample_images()
    assert len(images) == 3 and all(i.ndim == 3 and i.shape[2] == 3 for i in images)
    assert all(0.0 <= i.min() and i.max() <= 1.0 for i in images)
