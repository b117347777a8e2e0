"""Claim verdicts from hand-made tables: every verdict and every reason, the statistics on
hand-computed values, the claims file against the pipeline, and the reports."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts

from helpers import REPO, load_config
from modality_rl.analyses import all_tables, registered_tables
from modality_rl.claims.report import (claims_markdown, claims_rst, claims_table,
                                       configuration_differences, random_weight_bodies,
                                       verdict_counts)
from modality_rl.claims.statistics import STATISTICS
from modality_rl.claims.verdicts import (Claim, ClaimTest, Comparison, claim_tables, evaluate,
                                         load_claims)

RUNS = [("hopper", 666), ("hopper", 42), ("walker2d", 666), ("walker2d", 42)]


def claim(statistic: str, *comparisons: str, envs=None, **parameters) -> Claim:
    return Claim(id="x", section="5", statement="s", figures=("Fig. 1",),
                 tables=STATISTICS[statistic].tables, envs=envs,
                 tests=(ClaimTest(statistic=statistic, parameters=parameters,
                             comparisons=tuple(map(Comparison.parse, comparisons))),))


def confusion(values: dict[tuple[str, int], dict[str, float]]) -> dict[str, pd.DataFrame]:
    """gradient_confusion with min_cosine per (env, seed) and model."""
    return {"gradient_confusion": pd.DataFrame(
        [{"env": env, "seed": seed, "model": model, "min_cosine": value}
         for (env, seed), models in values.items() for model, value in models.items()])}


# contract: claims. Verdicts from the tables alone, each with its reason.
def test_reproduced_when_every_seed_of_every_env_holds():
    tables = confusion({run: {"gpt2": -0.5, "random": -0.1} for run in RUNS})
    verdict = evaluate(claim("min_gradient_cosine", "gpt2 < random"), tables)
    assert verdict.verdict == "reproduced" and "2 envs, 2 seeds each" in verdict.reason
    assert verdict.rows["value"].tolist() == pytest.approx([0.4] * 4)  # margins


def test_not_reproduced_when_reversed_in_every_seed_of_one_env():
    values = {run: {"gpt2": -0.5, "random": -0.1} for run in RUNS}
    values["walker2d", 666] = values["walker2d", 42] = {"gpt2": -0.1, "random": -0.3}
    verdict = evaluate(claim("min_gradient_cosine", "gpt2 < random"), confusion(values))
    assert verdict.verdict == "not reproduced"
    assert verdict.reason == "reversed in every seed: gpt2 < random in walker2d"


def test_inconclusive_when_the_seeds_disagree():
    values = {run: {"gpt2": -0.5, "random": -0.1} for run in RUNS}
    values["hopper", 42] = {"gpt2": -0.1, "random": -0.3}
    verdict = evaluate(claim("min_gradient_cosine", "gpt2 < random"), confusion(values))
    assert verdict.verdict == "inconclusive"
    assert verdict.reason == "spread across seeds overlaps zero: gpt2 < random in hopper"


def test_inconclusive_with_fewer_than_two_seeds_and_env_restriction():
    tables = confusion({run: {"gpt2": -0.5, "random": -0.1} for run in RUNS[:3]})
    verdict = evaluate(claim("min_gradient_cosine", "gpt2 < random"), tables)
    assert verdict.verdict == "inconclusive"
    assert verdict.reason == "fewer than 2 seeds: gpt2 < random in walker2d"
    # The claim about hopper alone has its two seeds.
    only_hopper = claim("min_gradient_cosine", "gpt2 < random", envs=("hopper",))
    assert evaluate(only_hopper, tables).verdict == "reproduced"


def test_a_reversal_outweighs_an_inconclusive_env():
    values = {run: {"gpt2": -0.1, "random": -0.3} for run in RUNS[:3]}  # walker2d: 1 seed
    assert evaluate(claim("min_gradient_cosine", "gpt2 < random"),
                    confusion(values)).verdict == "not reproduced"


def test_inconclusive_when_a_table_is_missing_or_lacks_what_is_read():
    verdict = evaluate(claim("min_gradient_cosine", "gpt2 < random"), {"gradient_confusion": None})
    assert verdict.verdict == "inconclusive"
    assert verdict.reason == "table missing: gradient_confusion"
    tables = confusion({run: {"gpt2": -0.5, "random": -0.1} for run in RUNS})
    verdict = evaluate(claim("min_gradient_cosine", "igpt < random"), tables)
    assert verdict.verdict == "inconclusive" and "no igpt in the tables" in verdict.reason
    old = {"mutual_information_hidden": mi_hidden({run: (1.0, 0.5) for run in RUNS}).drop(
        columns="mi_null")}
    verdict = evaluate(claim("mean_mi", "random > gpt2", depth="middle", quantity="input"), old)
    assert verdict.verdict == "inconclusive" and "no column mi_null" in verdict.reason


def mi_hidden(values: dict[tuple[str, int], tuple[float, float]], null: float = 0.3):
    """mutual_information_hidden at the middle depth, two positions per model: random's
    estimates (mean of 0.9 x and 1.1 x) and gpt2's, nulls `null` and `null` / 3."""
    rows = []
    for (env, seed), models in values.items():
        for model, value in zip(("random", "gpt2"), models):
            for position, scale in enumerate((0.9, 1.1)):
                rows.append({"env": env, "seed": seed, "model": model, "depth": "middle",
                             "quantity": "input", "position": position, "token": "state",
                             "mi": value * scale, "mi_null": null / (1 + 2 * position)})
    return pd.DataFrame(rows)


def test_within_the_null_baseline_when_the_larger_side_is_not_above_its_null():
    mi = claim("mean_mi", "random > gpt2", depth="middle", quantity="input")
    above = evaluate(mi, {"mutual_information_hidden": mi_hidden({r: (1.0, 0.5) for r in RUNS})})
    assert above.verdict == "reproduced"
    # The null's 95th percentile over positions is 0.3 - 0.05 * 0.2 = 0.29: random's
    # mean estimate of 0.25 is within it, though still above gpt2's.
    within = evaluate(mi, {"mutual_information_hidden": mi_hidden({r: (0.25, 0.1) for r in RUNS})})
    assert within.verdict == "inconclusive"
    assert within.reason == "within the null baseline: random > gpt2 in hopper, walker2d"
    assert within.rows["left_null"].tolist() == pytest.approx([0.29] * 4)


def test_comparisons_parse_offsets_and_thresholds():
    offset = Comparison.parse("no_context/gpt2 > main/gpt2 - 10")
    assert (offset.left, offset.right, offset.offset) == ("no_context/gpt2", "main/gpt2", -10.0)
    assert offset.margin(75.0, 80.0) == pytest.approx(5.0)
    assert Comparison.parse("a < b + 2").margin(3.0, 2.0) == pytest.approx(1.0)
    threshold = Comparison.parse("igpt > 0.5")
    assert threshold.right == 0.5 and threshold.subjects == ["igpt"]
    with pytest.raises(ValueError, match="comparison 'a >= b'"):
        Comparison.parse("a >= b")


def test_statistics_on_hand_computed_tables():
    pre_post = pd.DataFrame({"env": "hopper", "seed": 1, "model": "random", "token": "state",
                             "normalised_layer": range(4), "cka": [0.9, 0.7, 0.2, 0.4],
                             "cka_null": [0.0, 0.01, 0.02, 0.03]})
    halves = STATISTICS["mean_cka_pre_post"].compute({"cka_pre_post": pre_post}, token="state",
                                                     split="depth_halves").set_index("subject")
    assert halves.loc["random/shallow", "value"] == pytest.approx(0.8)
    assert halves.loc["random/deep", "value"] == pytest.approx(0.3)
    assert halves.loc["random/deep", "null"] == pytest.approx(0.0295)
    above = pd.DataFrame({"env": ["hopper"] * 4 + ["walker2d"], "seed": 1, "model": "random",
                          "token": "state", "threshold": [0.38, 0.38, 0.38, 0.23, 0.23],
                          "layer": ["0.ln_1", "0.attn.c_attn", "1.ln_2", "1.mlp.c_fc", "0.ln_1"]})
    share = STATISTICS["layer_norm_share_above_threshold"].compute(
        {"cka_layers_above_threshold": above}, model="random", token="state", threshold=0.38)
    share = share.set_index("env")["value"]
    assert share["hopper"] == pytest.approx(2 / 3) and np.isnan(share["walker2d"])  # none above
    gaps = pd.DataFrame({"env": "hopper", "seed": 1, "model": "gpt2", "method": "mean",
                         "epoch": [1, 1, 2, 2, 2, 9], "block": [0, 1, 0, 1, 2, 0],
                         "gap": [5.0, 5.0, 1.0, 4.0, 3.0, 9.0]})
    focused = STATISTICS["mean_attention_gap"].compute(
        {"attention_distance_gap": gaps}, epoch=4, focus_block=1).set_index("subject")["value"]
    # Epoch 4 is not analysed: its nearest earlier one, 2, is used.
    assert focused.to_dict() == {"gpt2/block1": 4.0, "gpt2/other_blocks": 2.0}


def learning_curves(best: dict[str, list[float]]) -> pd.DataFrame:
    """hopper seed 1: per experiment/model, returns and scores of epochs 1.. at 3600."""
    rows = []
    for subject, scores in best.items():
        experiment, model = subject.split("/")
        for epoch, score in enumerate(scores, start=1):
            for metric, value in (("return_mean", score * 10), ("normalised_score_paper", score),
                                  ("normalised_score_d4rl", score)):
                rows.append({"experiment": experiment, "env": "hopper", "seed": 1,
                             "model": model, "epoch": epoch, "metric": metric,
                             "target_return": 3600, "value": value})
    return pd.DataFrame(rows)


def test_best_score_and_mean_over_epochs():
    curves = {"learning_curves": learning_curves({"main/gpt2": [10, 70, 60],
                                                  "no_context/gpt2": [5, 20, 65]})}
    best = STATISTICS["best_normalised_score"].compute(curves).set_index("subject")["value"]
    assert best.to_dict() == {"main/gpt2": 70, "no_context/gpt2": 65}
    mean = STATISTICS["mean_over_epochs"].compute(
        curves, experiment="no_context", metric="normalised_score_paper")
    assert mean["value"].tolist() == pytest.approx([30.0])


def test_shallow_parameter_change_and_cross_model_cka():
    change = pd.DataFrame({"env": "hopper", "seed": 1, "model": "gpt2",
                           "parameter_index": range(5), "l2_distance": [4.0, 2.0, 9.0, 1.0, 0.0]})
    halves = STATISTICS["mean_parameter_change"].compute(
        {"parameter_change": change}, column="l2_distance", split="depth_halves")
    # Indices 0 and 1 lie below half of the last index (2): shallow; 2, 3, 4: deep.
    assert halves.set_index("subject")["value"].to_dict() == {"gpt2/deep": pytest.approx(10 / 3),
                                                              "gpt2/shallow": 3.0}
    between = pd.DataFrame({"env": "hopper", "seed": 1, "token": "state",
                            "model_a": ["random", "random", "gpt2", "random"],
                            "model_b": ["gpt2", "gpt2", "igpt", "gpt2"], "epoch": [4, 4, 4, 0],
                            "cka": [0.2, 0.4, 0.1, 0.9], "cka_null": 0.0})
    pairs = STATISTICS["mean_cka_between_models"].compute(
        {"cka_between_models": between}, token="state").set_index("subject")["value"]
    assert pairs.to_dict() == {"gpt2~igpt": 0.1, "gpt2~random": pytest.approx(0.3)}  # epoch 4


def curve_rows(experiment: str, model: str, metric: str, values: list[float], seed: int = 1):
    return [{"experiment": experiment, "env": "hopper", "seed": seed, "model": model,
             "epoch": epoch, "metric": metric, "target_return": 3600, "value": value}
            for epoch, value in enumerate(values, start=1)]


def test_clipping_runs_are_compared_over_their_common_epochs():
    curves = pd.DataFrame(curve_rows("no_grad_clip", "igpt", "action_error", [0.3, 0.2])
                          + curve_rows("main", "igpt", "action_error", [0.9, 0.7, 0.0, 0.0]))
    means = STATISTICS["mean_over_common_epochs"].compute(
        {"learning_curves": curves}, metric="action_error",
        runs=["no_grad_clip/igpt", "main/igpt"]).set_index("subject")["value"]
    assert means.to_dict() == pytest.approx({"main/igpt": 0.8, "no_grad_clip/igpt": 0.25})
    g3 = next(c for c in load_claims(REPO / "resources/claims.yaml") if c.id == "G.3")
    verdict = evaluate(replace(g3, tests=g3.tests[:1]), {"learning_curves": curves})
    assert verdict.verdict == "reproduced" and "1 seeds each" in verdict.reason  # min_seeds 1
    assert evaluate(replace(g3, tests=g3.tests[:1], min_seeds=2),
                    {"learning_curves": curves}).reason.startswith("fewer than 2 seeds")


def test_blocks_with_small_attention_gaps_are_those_whose_swap_learns_fastest():
    gaps, curves = [], []
    for seed in (1, 2):
        # Block b's gap and its swap's action error rise together but for block 3.
        for block, (gap, error) in enumerate([(0.1, 0.2), (0.9, 0.8), (0.3, 0.5), (0.2, 0.1)]):
            gaps += [{"experiment": "no_context", "env": "hopper", "seed": seed, "model": "gpt2",
                      "method": "mean", "epoch": epoch, "block": block, "sample": 0,
                      "gap": gap * epoch} for epoch in (0, 4)]
            curves += curve_rows("block_swap", f"gpt2_block{block}", "action_error",
                                 [error + 0.1, error - 0.1], seed)
        curves += curve_rows("block_swap", "random", "action_error", [5.0, 5.0], seed)
    tables = {"attention_distance_gap": pd.DataFrame(gaps), "learning_curves": pd.DataFrame(curves)}
    correlation = STATISTICS["gap_action_error_rank_correlation"].compute(
        tables, epoch=4, experiment="no_context", swap_experiment="block_swap")
    # Ranks of gaps (1, 4, 3, 2) against errors (2, 4, 3, 1): Spearman 0.8.
    assert correlation["value"].tolist() == pytest.approx([0.8, 0.8])
    claim_56 = next(c for c in load_claims(REPO / "resources/claims.yaml") if c.id == "5.6.2b")
    assert evaluate(claim_56, tables).verdict == "reproduced"
    curves = tables["learning_curves"]
    few = {**tables, "learning_curves": curves[~curves["model"].isin(["gpt2_block2",
                                                                      "gpt2_block3"])]}
    assert "fewer than 3 blocks" in evaluate(claim_56, few).reason


def test_the_data_mi_claim_compares_envs():
    data = pd.DataFrame({"env": ["hopper"] * 2 + ["walker2d"] * 2 + ["halfcheetah"] * 2,
                         "variable": "return_to_go", "step": [0, 1] * 3,
                         "mi": [0.1, 0.3, 0.5, 0.7, 0.4, 0.4], "mi_null": 0.01})
    claim_h = next(c for c in load_claims(REPO / "resources/claims.yaml") if c.id == "H")
    verdict = evaluate(claim_h, {"mutual_information_data": data})
    assert verdict.verdict == "reproduced", verdict.reason
    assert verdict.rows.set_index("comparison")["value"].to_dict() == pytest.approx(
        {"hopper < halfcheetah": 0.2, "hopper < walker2d": 0.4})
    data.loc[data["env"] == "hopper", "mi"] = 0.9
    assert evaluate(claim_h, {"mutual_information_data": data}).verdict == "not reproduced"


def test_the_claims_file_names_real_tables_and_statistics():
    claims = load_claims(REPO / "resources" / "claims.yaml")
    assert len(claims) >= 21 and len({c.id for c in claims}) == len(claims)
    assert {"5.3b", "G.3", "5.6.2b", "D.4", "H"} <= {c.id for c in claims}
    for c in claims:
        assert set(c.tables) <= set(registered_tables()), c.id
        for test in c.tests:
            assert test.statistic in STATISTICS, c.id
            assert set(STATISTICS[test.statistic].tables) <= set(c.tables), c.id
    # Every section of the paper's results is covered.
    sections = " ".join(c.section for c in claims)
    for section in ("Table 1", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6.1", "5.6.2", "abstract",
                    "Appendix D.4", "Appendix G.3", "Appendix H"):
        assert section in sections
    made = all_tables(load_config())
    assert set(claim_tables(claims, made)) >= {"cka_pre_post", "mutual_information_hidden",
                                               "learning_curves", "attention_distance_gap"}
    # A configuration without the gradients analysis makes (and so reads) none of its tables.
    without = all_tables({**load_config(), "analysis": {**load_config()["analysis"],
                                                        "gradients": None}})
    assert "gradient_norms" in claim_tables(claims, made)
    assert not any(t.startswith("gradient") for t in claim_tables(claims, without))


@pytest.mark.parametrize("change, message", [
    ({"tests": [{"statistic": "median", "parameters": {}, "comparisons": ["a > b"]}]},
     "claim T1a: unknown statistic 'median'"),
    ({"tables": ["learning_curves", "fig1"]}, "claim T1a: tables \\['fig1'\\] are not tables"),
    ({"tables": []}, "claim T1a: statistic best_normalised_score reads \\['learning_curves'\\]"),
])
def test_a_bad_claims_file_is_refused_naming_the_claim(tmp_path, change, message):
    entries = yaml.safe_load((REPO / "resources/claims.yaml").read_text())
    entries[0].update(change)
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(entries))
    with pytest.raises(ValueError, match=message):
        load_claims(path)


def test_reports_carry_every_claim_the_caveat_and_the_counts():
    tables = confusion({run: {"gpt2": -0.5, "random": -0.1} for run in RUNS})
    verdicts = [evaluate(claim("min_gradient_cosine", "gpt2 < random"), tables),
                evaluate(replace(claim("min_gradient_cosine", "igpt < random"), id="y"), tables)]
    assert verdict_counts(verdicts) == {"reproduced": 1, "not_reproduced": 0,
                                        "inconclusive": 1, "claims": 2}
    differences = configuration_differences({"a": {"b": 1, "c": 2}, "d": 3},
                                            {"a": {"b": 1, "c": 5}, "d": 3, "e": 0})
    assert differences == ["a.c", "e"]
    # Where training shows its curves changes no number: no difference, and no rerun.
    assert configuration_differences({"d": 3, "tracking": {"every_steps": 7}},
                                     {"d": 3, "tracking": {"every_steps": 100}}) == []
    quick = claims_markdown(verdicts, differences)
    assert "Not the paper's configuration" in quick and "too small" in quick
    assert "no igpt in the tables" in quick and "only the paper" in quick.lower()
    assert "Not the paper's" not in claims_markdown(verdicts, [])
    html = publish_parts(claims_rst(verdicts, differences), writer="html",
                         settings_overrides={"halt_level": 2})["html_body"]
    assert html.count("<td><strong>reproduced</strong></td>") == 1 and "gpt2 &lt; random" in html
    table = claims_table(verdicts)
    assert table.groupby("claim")["verdict"].nunique().max() == 1 and len(table) == 4 + 1


def test_reports_say_loudly_which_bodies_have_random_weights():
    """presets/paper_shapes.yaml's gpt2 and igpt have their architectures, not weights."""
    paper = yaml.safe_load((REPO / "config.yaml").read_text())
    shapes = yaml.safe_load((REPO / "presets" / "paper_shapes.yaml").read_text())
    assert random_weight_bodies(paper) == []
    config = {**paper, "backbones": {**paper["backbones"], **shapes["backbones"]}}
    assert random_weight_bodies(config) == ["gpt2", "igpt"]
    verdicts = [evaluate(claim("min_gradient_cosine", "gpt2 < random"),
                         confusion({run: {"gpt2": -0.5, "random": -0.1} for run in RUNS}))]
    differences = configuration_differences(config, paper)
    markdown = claims_markdown(verdicts, differences, random_weight_bodies(config))
    assert "RANDOM WEIGHTS: the ``gpt2``, ``igpt`` bodies are NOT pre-trained" in markdown
    assert "RANDOM" not in claims_markdown(verdicts, differences)
    html = publish_parts(claims_rst(verdicts, differences, ["gpt2", "igpt"]), writer="html",
                         settings_overrides={"halt_level": 2})["html_body"]
    assert 'class="admonition warning"' in html and "NOT pre-trained" in html


@pytest.mark.parametrize("source, dataset", [("d4rl", "medium"), ("minari", "medium-expert")])
def test_script_writes_every_output(tmp_path, source, dataset):
    """On another dataset, or on Minari's data, the verdicts say so before anything."""
    tables = tmp_path / "tables"
    tables.mkdir()
    table = confusion({run: {"gpt2": -0.5, "random": -0.1, "igpt": -0.6} for run in RUNS})[
        "gradient_confusion"]
    table.assign(dataset=dataset).to_csv(tables / "gradient_confusion.csv", index=False)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["data"]["source"], config["datasets"] = source, [dataset]
    out = {ext: tmp_path / f"claims.{ext}" for ext in ("md", "csv", "rst", "json")}
    spec = {"claims": str(REPO / "resources/claims.yaml"), "config": config,
            "tables": {table: str(tables / f"{table}.csv") for table in registered_tables()},
            "paper_config": str(REPO / "config.yaml"), **{k: str(v) for k, v in out.items()},
            **({} if dataset == "medium" else {"dataset": dataset})}
    result = subprocess.run([sys.executable, REPO / "scripts/claims.py", json.dumps(spec)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    claims = load_claims(REPO / "resources" / "claims.yaml")
    md = out["md"].read_text()
    assert all(f"| {c.id} (" in md for c in claims) and "paper's configuration" in md
    assert json.loads(out["json"].read_text())["claims"] == len(claims)
    written = pd.read_csv(out["csv"]).drop_duplicates("claim").set_index("claim")["verdict"]
    assert written.pop("5.4a") == "reproduced"  # the one claim whose table is here
    assert set(written) == {"inconclusive"}
    if source == "minari":
        assert "NOT the paper's data" in md and "dataset medium-expert" in md
