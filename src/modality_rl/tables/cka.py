"""CKA tables (Fig. 1, 12-14, 23-43; Appendix D.3) for one (env, dataset, seed).

Every `cka` value has its permutation floor beside it, `cka_null`: the same CKA with the
second representation's sample rows permuted (`metrics.null.null_permutation(n, seed)`, one
permutation per partition), i.e. what CKA gives for two unrelated representations of
the same widths. It costs one more Gram product per table, so the heat-map tables carry
it too: their claims ("small CKA between models") need a floor to be read against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modality_rl.metrics.cka import (centred_grams, cka_from_grams, layers_above, normalised_layer,
                                     permuted_grams)
from modality_rl.probes.dump import ProbeDump
from modality_rl.metrics.null import null_permutation
from modality_rl.tables import Dumps


@dataclass(frozen=True, kw_only=True)
class CkaSettings:
    """config key `analysis.cka`, less the experiment and epochs it reads."""
    debiased: bool  # the unbiased HSIC (the paper's choice)
    thresholds: tuple[float, ...]  # Appendix D.3: the layers above each are listed
    seed: int  # the permutation of the cka_null floor


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


def _grid(gx: np.ndarray, gy: np.ndarray, null_gy: np.ndarray, names_a: list[str],
          names_b: list[str]) -> dict[str, np.ndarray]:
    """Every layer of gx against every layer of gy: CKA, and its floor against null_gy."""
    index_a, index_b = np.meshgrid(np.arange(len(names_a)), np.arange(len(names_b)),
                                   indexing="ij")
    return {"layer_index_a": index_a.ravel(), "layer_a": np.array(names_a)[index_a.ravel()],
            "layer_index_b": index_b.ravel(), "layer_b": np.array(names_b)[index_b.ravel()],
            "cka": cka_from_grams(gx, gy).ravel(), "cka_null": cka_from_grams(gx, null_gy).ravel()}


def cka_tables(dumps: Dumps, coordinates: dict, epochs: list[int], settings: CkaSettings
               ) -> dict[str, pd.DataFrame]:
    """cka_pre_post, cka_between_models, cka_within_model, cka_layers_above_threshold.

    `coordinates` holds experiment, env, dataset and seed; `epochs` is (before, after).
    Layers of deeper models map onto the shallowest model's layer axis through
    `normalised_layer`. `settings.seed` draws the permutation of the `cka_null` floor.
    """
    grams, names, tokens = _grams(dumps, settings.debiased)
    samples = int(np.sqrt(next(iter(grams.values())).shape[1]))
    permutation = null_permutation(samples, settings.seed)
    null = {key: permuted_grams(g, permutation) for key, g in grams.items()}
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
                                  paired=True),
            "cka_null": cka_from_grams(grams[model, before, token], null[model, after, token],
                                       paired=True)}))
        for epoch in epochs:
            key = model, epoch, token
            within.append(pd.DataFrame({**coordinates, "model": model, "token": token,
                                        "epoch": epoch, **_grid(grams[key], grams[key], null[key],
                                                                names[model], names[model])}))
    for (a, b), token in itertools.product(itertools.combinations(dumps, 2), tokens):
        key_a, key_b = (a, after, token), (b, after, token)
        between.append(pd.DataFrame({**coordinates, "model_a": a, "model_b": b, "token": token,
                                     "epoch": after, **_grid(grams[key_a], grams[key_b],
                                                             null[key_b], names[a], names[b])}))
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
