"""Tiny pre-trained backbones, made offline from data that ships with installed packages.

Without hub access (this machine, CI, the quick preset) "pre-trained on language" and
"pre-trained on images" mean these two models:

- language: a model trained on next-byte prediction over Python's pydoc topics
  (`pydoc_data.topics`, English prose shipped with CPython); GPT-2's architecture unless
  the backbone names another (`architecture`);
- image: a model trained the iGPT way on matplotlib's sample images: pixels of
  downsampled crops are quantised to a k-means colour palette and the model predicts the
  next pixel's palette index, in raster order, after a start-of-sequence token;
  ImageGPT's architecture unless the backbone names another.

Any family's causal LM (modality_rl.models.families) learns either, so bodies of two
families can be pre-trained on the same corpus and compared. They are saved with
`save_pretrained` and loaded by `backbones.pretrained_body`, the code path of the hub
models. The initial and final losses on a held-out batch are saved
beside them so that it is visible that they learned.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import trange

from modality_rl.bodies import MODALITY_ARCHITECTURE
from modality_rl.io import atomic_directory, write_json
from modality_rl.models.families import Family, architecture
from modality_rl.seeding import seed_everything

log = logging.getLogger(__name__)

SAMPLE_IMAGES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
SUMMARY_FILE = "pretraining_summary.json"


@dataclass(frozen=True, kw_only=True)
class PretrainConfig:
    """config key `pretraining.<modality>` (language or image)."""
    n_layer: int
    n_embd: int
    n_head: int
    steps: int
    batch_size: int
    learning_rate: float
    seed: int
    context_length: int = 128  # language: bytes per sequence
    image_size: int = 16  # image: side of the downsampled crop, so image_size**2 pixels
    palette_size: int = 16  # image: k-means colours


def pydoc_corpus() -> np.ndarray:
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key] for key in sorted(topics))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def sample_images() -> list[np.ndarray]:
    """matplotlib's sample photographs and logos as float RGB arrays in [0, 1]."""
    import matplotlib.cbook
    import matplotlib.image

    images = []
    for name in SAMPLE_IMAGES:
        image = matplotlib.image.imread(matplotlib.cbook.get_sample_data(name))
        image = image[..., :3].astype(np.float32)
        images.append(image / 255.0 if image.max() > 1.0 else image)
    return images


def kmeans_palette(pixels: np.ndarray, k: int, rng: np.random.Generator,
                   iterations: int = 25) -> np.ndarray:
    """k colour centres (k, 3) by Lloyd's algorithm from k distinct random pixels."""
    centres = pixels[rng.choice(len(pixels), size=k, replace=False)]
    for _ in range(iterations):
        nearest = quantise(pixels, centres)
        for j in range(k):
            members = pixels[nearest == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    return centres


def quantise(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    return ((pixels[:, None, :] - palette[None]) ** 2).sum(-1).argmin(1)


def random_crops(images: list[np.ndarray], size: int, count: int,
                 rng: np.random.Generator) -> np.ndarray:
    """`count` crops of (4*size)^2 pixels, averaged down to size x size: (count, size, size, 3)."""
    crop = 4 * size
    crops = []
    for index in rng.integers(0, len(images), size=count):
        image = images[index]
        top = rng.integers(0, image.shape[0] - crop + 1)
        left = rng.integers(0, image.shape[1] - crop + 1)
        patch = image[top:top + crop, left:left + crop]
        crops.append(patch.reshape(size, 4, size, 4, 3).mean(axis=(1, 3)))
    return np.stack(crops)


def _language_batches(cfg: PretrainConfig, rng: np.random.Generator) -> Callable[[], torch.Tensor]:
    corpus = pydoc_corpus()

    def batch() -> torch.Tensor:
        starts = rng.integers(0, len(corpus) - cfg.context_length, size=cfg.batch_size)
        return torch.from_numpy(np.stack([corpus[s:s + cfg.context_length] for s in starts])
                                .astype(np.int64))

    return batch


def _image_batches(cfg: PretrainConfig, rng: np.random.Generator) -> Callable[[], torch.Tensor]:
    images = sample_images()
    pixels = random_crops(images, cfg.image_size, 256, rng).reshape(-1, 3)
    palette = kmeans_palette(pixels, cfg.palette_size, rng)
    start_token = cfg.palette_size  # ImageGPT's SOS token is the last vocabulary entry

    def batch() -> torch.Tensor:
        crops = random_crops(images, cfg.image_size, cfg.batch_size, rng)
        tokens = quantise(crops.reshape(-1, 3), palette).reshape(cfg.batch_size, -1)
        sos = np.full((cfg.batch_size, 1), start_token)
        return torch.from_numpy(np.concatenate([sos, tokens], axis=1).astype(np.int64))

    return batch


def _build(modality: str, cfg: PretrainConfig, family: type[Family]):
    """The untrained causal LM: bytes (256 tokens) for language, the palette and a start
    token for images, in the family's architecture."""
    vocabulary, positions = ((256, cfg.context_length) if modality == "language"
                             else (cfg.palette_size + 1, cfg.image_size ** 2 + 1))
    config = family.lm_config(vocabulary, positions, n_layer=cfg.n_layer, n_embd=cfg.n_embd,
                              n_head=cfg.n_head)
    return family.transformers_class(family.lm_class)(config)


def pretrain(modality: str, cfg: PretrainConfig, out_dir: str | os.PathLike,
             architecture_name: str | None = None) -> dict[str, float]:
    """Pre-train the tiny `modality` ("language" or "image") model in `architecture_name`
    (None: the modality's own) and save it to `out_dir`."""
    if modality not in MODALITY_ARCHITECTURE:
        raise ValueError(f"unknown pre-training modality {modality!r}")
    family = architecture(architecture_name or MODALITY_ARCHITECTURE[modality])
    rng = seed_everything(cfg.seed)
    model = _build(modality, cfg, family)
    next_batch = (_language_batches if modality == "language" else _image_batches)(cfg, rng)
    held_out = next_batch()

    def held_out_loss() -> float:
        model.eval()
        with torch.no_grad():
            loss = model(input_ids=held_out, labels=held_out).loss.item()
        model.train()
        return loss

    initial = held_out_loss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    for _ in trange(cfg.steps, desc=f"pre-training {modality}", mininterval=5):
        batch = next_batch()
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    summary = {"modality": modality, "architecture": family.name, "steps": cfg.steps,
               "initial_loss": initial, "final_loss": held_out_loss()}
    log.info("%s pre-training: held-out loss %.3f -> %.3f", modality, initial,
             summary["final_loss"])
    _save(model, summary, Path(out_dir))
    return summary


def _save(model, summary: dict, out_dir: Path) -> None:
    """Write into a temporary directory and rename it, so no half-saved model is left."""
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp)
        write_json(summary, tmp / SUMMARY_FILE)
