"""CKA tables (Fig. 1, 12-14, 23-43; Appendix D.3) for one (env, dataset, seed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modality_rl.metrics.cka import centred_grams, cka_from_grams, layers_above, normalised_layer
from modality_rl.probes.dump import ProbeDump
from modality_rl.tables import Dumps


@dataclass(frozen=True, kw_only=True)
class CkaSettings:
    """config key `analysis.cka`, less the experiment and epochs it reads."""
    debiased: bool  # the unbiased HSIC (the paper's choice)
    thresholds: tuple[float, ...]  # Appendix D.3: the layers above each are listed


def _grams(dumps: Dumps, debiased: bool) -> tuple[dict, dict[str, list[str]], list[str]]:
    """Centred Grams per (model, epoch, token), and each model's layer names."""
    grams, names, tokens = {}, {}, []
    for model, by_epoch in dumps.items():
        for epoch, path in by_epoch.items():
            with ProbeDump(path) as dump:
                names[model], tokens = dump.layer_names, dump.tokens
                for token in tokens:
                    grams[model, epoch, token] = centred_grams(
                        [dump.layer(name, token) for name in dump.layer_names], debiased)
    return grams, names, tokens


def _grid(values: np.ndarray, names_a: list[str], names_b: list[str]) -> dict[str, np.ndarray]:
    index_a, index_b = np.meshgrid(np.arange(len(names_a)), np.arange(len(names_b)),
                                   indexing="ij")
    return {"layer_index_a": index_a.ravel(), "layer_a": np.array(names_a)[index_a.ravel()],
            "layer_index_b": index_b.ravel(), "layer_b": np.array(names_b)[index_b.ravel()],
            "cka": values.ravel()}


def cka_tables(dumps: Dumps, coordinates: dict, epochs: list[int], settings: CkaSettings
               ) -> dict[str, pd.DataFrame]:
    """cka_pre_post, cka_between_models, cka_within_model, cka_layers_above_threshold.

    `coordinates` holds experiment, env, dataset and seed; `epochs` is (before, after).
    Layers of deeper models map onto the shallowest model's layer axis through
    `normalised_layer`.
    """
    grams, names, tokens = _grams(dumps, settings.debiased)
    before, after = epochs
    reference = min(len(n) for n in names.values())
    pre_post, between, within = [], [], []
    for model, token in itertools.product(dumps, tokens):
        n = len(names[model])
        pre_post.append(pd.DataFrame({
            **coordinates, "model": model, "token": token, "epoch_before": before,
            "epoch_after": after, "layer_index": np.arange(n), "layer": names[model],
            "normalised_layer": [normalised_layer(i, n, reference) for i in range(n)],
            "cka": cka_from_grams(grams[model, before, token], grams[model, after, token],
                                  paired=True)}))
        for epoch in epochs:
            g = grams[model, epoch, token]
            within.append(pd.DataFrame({**coordinates, "model": model, "token": token,
                                        "epoch": epoch, **_grid(cka_from_grams(g, g),
                                                                names[model], names[model])}))
    for (a, b), token in itertools.product(itertools.combinations(dumps, 2), tokens):
        values = cka_from_grams(grams[a, after, token], grams[b, after, token])
        between.append(pd.DataFrame({**coordinates, "model_a": a, "model_b": b, "token": token,
                                     "epoch": after, **_grid(values, names[a], names[b])}))
    pre_post = pd.concat(pre_post, ignore_index=True)
    return {"cka_pre_post": pre_post,
            "cka_between_models": pd.concat(between, ignore_index=True),
            "cka_within_model": pd.concat(within, ignore_index=True),
            "cka_layers_above_threshold": _above(pre_post, settings.thresholds)}


def _above(pre_post: pd.DataFrame, thresholds: tuple[float, ...]) -> pd.DataFrame:
    rows = []
    for (model, token), group in pre_post.groupby(["model", "token"], sort=False):
        for threshold in thresholds:
            for layer in layers_above(group["layer"].tolist(), group["cka"].tolist(), threshold):
                rows.append({**group.iloc[0][["experiment", "env", "dataset", "seed"]].to_dict(),
                             "model": model, "token": token, "threshold": threshold,
                             "layer": layer})
    columns = ["experiment", "env", "dataset", "seed", "model", "token", "threshold", "layer"]
    return pd.DataFrame(rows, columns=columns)
