"""Tables 1, 2 and 4 (best-epoch normalised scores) and Table 3 from the configuration."""

import pandas as pd
import pytest
import yaml

from helpers import REPO
from modality_rl.tables.learning_curves import best_epoch_scores
from modality_rl.tables.paper import (PAPER_TABLES, configuration_table, markdown, paper_table,
                                      published_numbers)
from modality_rl.tables.summaries import table_metrics

PUBLISHED = REPO / "resources" / "paper_tables.tsv"


def curves(model: str, seed: int, returns: list[float]) -> pd.DataFrame:
    """learning_curves rows of one hopper run: returns at 3600 per epoch 0..N, the paper
    score = return / 10, the d4rl score = return / 20, and a decoy target (1800)."""
    rows = []
    for epoch, value in enumerate(returns):
        for target, scale in ((3600, 1.0), (1800, -1.0)):
            base = {"experiment": "main", "model": model, "env": "hopper", "dataset": "medium",
                    "seed": seed, "epoch": epoch, "target_return": target}
            rows += [{**base, "metric": "return_mean", "value": scale * value},
                     {**base, "metric": "normalised_score_paper", "value": scale * value / 10},
                     {**base, "metric": "normalised_score_d4rl", "value": scale * value / 20}]
    return pd.DataFrame(rows)


def test_best_epoch_is_the_trained_epoch_with_the_highest_return_at_the_curve_target():
    # Epoch 0 has the highest return but is the untrained model: never the best epoch.
    scores = best_epoch_scores(curves("gpt2", 666, [900.0, 100.0, 400.0, 300.0]))
    assert scores.loc[0, "best_epoch"] == 2 and scores.loc[0, "return_mean"] == 400.0
    assert scores.loc[0, "score_paper"] == 40.0 and scores.loc[0, "score_d4rl"] == 20.0


def test_table_one_averages_seeds_in_both_conventions_beside_the_published_numbers():
    table = PAPER_TABLES[1]
    data = pd.concat([curves(model, seed, [0.0, 100.0 * (seed == 42) + 200.0])
                      for model in table.models for seed in (666, 42)])
    long = paper_table(table, data, published_numbers(PUBLISHED, 1))
    gpt2 = long[(long["model"] == "gpt2") & (long["convention"] == "paper")].iloc[0]
    assert gpt2["mean"] == pytest.approx(25.0) and gpt2["std"] == pytest.approx(5.0)
    assert gpt2["seeds"] == 2 and gpt2["published"] == "79.5 ± 1.3"
    text = markdown(table, long)
    assert "| Hopper | 25.0 ± 5.0 | 12.5 ± 2.5 | 79.5 ± 1.3 |" in text
    assert "GPT2 (paper)" in text and "GPT2 (d4rl)" in text


def test_table_two_keeps_seed_666_only():
    data = pd.concat([curves(m, s, [0.0, 10.0 * s]) for m in ("gpt2", "random")
                      for s in (666, 42)])
    long = paper_table(PAPER_TABLES[2], data, published_numbers(PUBLISHED, 2))
    assert set(long["seeds"]) == {1} and set(long["published"]) == {"83.73", "-0.24"}


def test_table_three_renders_the_configuration_in_use():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    text = configuration_table(config)
    assert "| # Layers | 12 | 12 |" in text and "| # Steps per Epoch | 2500 | 2500 |" in text
    config["backbones"]["random"]["n_layer"] = 3
    assert "| # Layers | 3 | 12 |" in configuration_table(config)


def test_a_missing_convention_has_no_number_only_its_reason():
    table = PAPER_TABLES[1]
    data = pd.concat([curves(model, seed, [0.0, 200.0]) for model in table.models
                      for seed in (666, 42)])
    data.loc[data["metric"] == "normalised_score_paper", "value"] = float("nan")
    long = paper_table(table, data, published_numbers(PUBLISHED, 1),
                       {"hopper": {"paper": "no random dataset"}})
    paper = long[long["convention"] == "paper"]
    assert paper["mean"].isna().all() and set(paper["missing_reason"]) == {"no random dataset"}
    d4rl = long[long["convention"] == "d4rl"]
    assert (d4rl["mean"] == 10.0).all() and set(d4rl["missing_reason"]) == {""}
    text = markdown(table, long)
    assert "| Hopper | missing | 10.0 ± 0.0 | 79.5 ± 1.3 |" in text
    assert "- `paper` (Hopper): no random dataset" in text and "nan" not in text
    only_d4rl = {"d4rl": {"mean": 10.0, "std": 0.0, "seeds": 2}}
    assert table_metrics(long) == {"hopper": {model: only_d4rl for model in table.models}}
