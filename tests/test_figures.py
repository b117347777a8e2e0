"""The figure catalogue, its drawers, docs/figures.md and single-figure requests."""

import dataclasses
import itertools
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers import REPO, copy_workflow, run_snakemake
from modality_rl.figures.catalogue import data_figures, load_catalogue, panel_epoch
from modality_rl.figures.curves import ema
from modality_rl.figures.draw import draw_figure, panel_inputs
from modality_rl.figures.index import figure_index
from modality_rl.figures.mutual_information import NULL_LABEL, block_band
from modality_rl.figures.options import RELEASED, FigureOptions
from modality_rl.figures.registry import KINDS
from modality_rl.spec import SpecError, from_data

CATALOGUE = REPO / "resources" / "figures.tsv"


def test_catalogue_lists_the_papers_73_data_figures_and_every_kind_has_a_drawer():
    figures = data_figures(CATALOGUE)
    assert len(figures) == 73 and set(figures) == set(range(1, 78)) - {11, 15, 16, 21}
    assert {panel.kind for panel in load_catalogue(CATALOGUE)} - {"diagram"} <= set(KINDS)


def test_panels_read_their_own_env_and_seed_partitions():
    panel = data_figures(CATALOGUE)[25][1]  # Fig. 25b: HalfCheetah, seed 42
    assert panel_inputs(panel, "medium") == {
        "cka_pre_post": ["results/tables/cka_pre_post/halfcheetah-medium_seed42.csv"]}
    curves = panel_inputs(data_figures(CATALOGUE)[8][0], "medium")
    assert curves["learning_curves/no_context"] == [
        "results/tables/learning_curves/no_context/hopper-medium_seed666.csv"]
    mi_data = panel_inputs(data_figures(CATALOGUE)[22][0], "medium")
    assert len(mi_data["mutual_information_data"]) == 3


def test_paper_epochs_map_onto_a_shorter_runs_epochs():
    assert panel_epoch(40, [0, 1, 4]) == 4
    assert panel_epoch(10, [0, 1, 4]) == 4 and panel_epoch(1, [0, 1, 4]) == 1
    assert panel_epoch(4, [0, 1, 4, 10, 40]) == 4


def test_ema_released_is_lfilter_with_the_first_value_as_state():
    """scipy.signal.lfilter([0.2], [1, -0.8], x, zi=[x_0]) by hand: y_0 = 0.2 x_0 + zi,
    then y_t = 0.2 x_t + 0.8 y_{t-1}. For x = 1, 0, 0, 1: 1.2, 0.96, 0.768, 0.8144."""
    x = pd.Series([1.0, 0.0, 0.0, 1.0], index=[1, 2, 3, 4])
    released = ema(x, 0.8)
    assert released.tolist() == pytest.approx([1.2, 0.96, 0.768, 0.8144])
    assert released.index.tolist() == [1, 2, 3, 4]
    # Ours, kept as an option: the state starts at 0.8 x_0, so y_0 = x_0.
    assert ema(x, 0.8, start="first_value").tolist() == pytest.approx([1.0, 0.8, 0.64, 0.712])
    with pytest.raises(ValueError, match="smoothing start 'zero'"):
        ema(x, 0.8, start="zero")


def test_no_context_band_released_and_pooled_on_a_tiny_table():
    """Normalised block 0 is blocks 0 and 1 (iGPT's pair), three steps each; block 2 alone
    is normalised block 1, with a diverged (NaN) step."""
    rows = pd.DataFrame({"normalised_block": [0] * 6 + [1] * 3,
                         "block": [0] * 3 + [1] * 3 + [2] * 3,
                         "step": [0, 1, 2] * 3, "mi": [1, 2, 3, 3, 5, 7, 4, np.nan, 6]})
    released = block_band(rows, "released")
    # Per block: means 2 and 5, stds (ddof 0) sqrt(2/3) and sqrt(8/3); then averaged.
    assert released.loc[0, "mean"] == pytest.approx(3.5)
    assert released.loc[0, "std"] == pytest.approx((np.sqrt(2 / 3) + np.sqrt(8 / 3)) / 2)
    assert released.loc[1].tolist() == pytest.approx([5.0, 1.0])  # nanmean, nanstd
    pooled = block_band(rows, "pooled")
    # Per step means 2, 3.5, 5: mean 3.5, std (ddof 1) 1.5.
    assert pooled.loc[0].tolist() == pytest.approx([3.5, 1.5])
    assert pooled.loc[1].tolist() == pytest.approx([5.0, np.sqrt(2)])
    with pytest.raises(ValueError, match="band method 'ours'"):
        block_band(rows, "ours")
    message = r"figures.no_context_band: input should be 'released' or 'pooled', got 'ours'"
    with pytest.raises(SpecError, match=message):
        from_data(FigureOptions, {"block_swap_smoothing": "released", "no_context_band": "ours"},
                  "figures")


MODELS = {"random": 2, "gpt2": 2, "igpt": 4}  # blocks, as the quick preset's bodies


def tiny_tables(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Hand-made tables with every column the MI, CKA and block-swap drawers read."""
    base = {"env": "hopper", "dataset": "medium", "seed": 666}
    hidden = pd.DataFrame([
        {**base, "model": m, "epoch": 4, "depth": "middle", "position": p, "step": p // 3,
         "token": ("return_to_go", "state", "action")[p % 3], "quantity": q}
        for m, p, q in itertools.product(MODELS, range(5), ("input", "label"))])
    no_context = pd.DataFrame([
        {**base, "model": m, "epoch": 4, "block": b, "normalised_block": b * 2 // n,
         "step": t, "quantity": q}
        for m, n in MODELS.items() for b, t, q in itertools.product(range(n), range(3),
                                                                     ("input", "label"))])
    data = pd.DataFrame([{"env": e, "variable": v, "step": t} for e, v, t in itertools.product(
        ("hopper", "halfcheetah", "walker2d"), ("state", "return_to_go"), range(5))])
    for table in (hidden, no_context, data):
        table["mi"] = rng.uniform(1, 2, len(table))
        table["mi_null"] = rng.uniform(0, 0.5, len(table))
    pre_post = pd.DataFrame([{**base, "model": m, "token": "state",
                              "normalised_layer": i * 18 // (9 * n), "cka": rng.uniform(0.3, 1),
                              "cka_null": rng.uniform(-0.05, 0.05)}
                             for m, n in MODELS.items() for i in range(9 * n)])
    between = pd.DataFrame([{**base, "model_a": a, "model_b": b, "token": "state", "epoch": 4,
                             "layer_index_a": i, "layer_index_b": j, "cka": rng.uniform(0, 1),
                             "cka_null": rng.uniform(-0.05, 0.1)}
                            for a, b in itertools.combinations(MODELS, 2)
                            for i in range(9 * MODELS[a]) for j in range(9 * MODELS[b])])
    curves = {experiment: pd.DataFrame([
        {**base, "model": m, "epoch": e, "metric": metric, "target_return": target,
         "value": value / e} for m in models for e in range(1, 4)
        for metric, target, value in (("action_error", np.nan, 1.0), ("return_mean", 3600, 10.0))])
        for experiment, models in (("block_swap", ("gpt2_block0", "gpt2_block1")),
                                   ("no_context", ("gpt2", "random")))}
    return {"mutual_information_hidden": hidden, "mutual_information_no_context": no_context,
            "mutual_information_data": data, "cka_pre_post": pre_post,
            "cka_between_models": between, "learning_curves/block_swap": curves["block_swap"],
            "learning_curves/no_context": curves["no_context"]}


def drawn(figure: int, tables: dict, options: FigureOptions = RELEASED):
    panels = data_figures(CATALOGUE)[figure]
    needs = [{n.key: tables[n.key] for n in KINDS[panel.kind].needs} for panel in panels]
    return draw_figure(panels, needs, options)


@pytest.mark.parametrize("figure", [2, 17, 22])
def test_mi_figures_draw_the_null_band_below_the_estimates(figure):
    fig = drawn(figure, tiny_tables(np.random.default_rng(0)))
    for ax in fig.axes:
        bands = [c for c in ax.collections if c.get_label() == NULL_LABEL]
        assert bands, f"fig {figure}: no null band"
        # Nulls are drawn from [0, 0.5], the estimates from [1, 2]: the band stays below.
        top = max(path.vertices[:, 1].max() for band in bands for path in band.get_paths())
        assert 0 < top <= 0.5 and NULL_LABEL in [t.get_text() for t in ax.get_legend().texts]
    plt.close(fig)


def test_cka_figures_draw_their_floor():
    tables = tiny_tables(np.random.default_rng(1))
    fig = drawn(1, tables)
    for ax in fig.axes:
        (floor,) = [c for c in ax.collections if c.get_label() == "permutation floor"]
        assert abs(floor.get_paths()[0].vertices[:, 1]).max() <= 0.05
    plt.close(fig)
    fig = drawn(12, tables)
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    ticks = [line.get_ydata()[0] for ax in colour_bars for line in ax.lines]
    assert len(ticks) == 3 and all(0 < tick <= 0.1 for tick in ticks)
    plt.close(fig)


def test_attention_gap_axis_has_the_blocks_of_the_panels_models_only():
    """Fig. 10 draws random and gpt2 (12 blocks); a 24-block igpt in the table stays out."""
    base = {"experiment": "no_context", "env": "hopper", "dataset": "medium", "seed": 666,
            "method": "mean", "epoch_before": 0}
    gap = pd.DataFrame([{**base, "model": m, "epoch": e, "block": b, "sample": s, "gap": 0.1}
                        for m, blocks in (("random", 12), ("gpt2", 12), ("igpt", 24))
                        for e in (1, 4) for b in range(blocks) for s in range(3)])
    fig = drawn(10, {"attention_distance_gap": gap})  # Hopper, HalfCheetah, Walker2d panels
    assert [list(ax.get_xticks()) for ax in fig.axes] == [list(range(12))] * 3
    plt.close(fig)


@pytest.mark.parametrize("start, first", [("released", 1.2), ("first_value", 1.0)])
def test_block_swap_figure_follows_the_smoothing_option(start, first):
    """Action error 1/epoch and return 10/epoch: the smoothed curves start at 1.2 and 12
    (released) or at 1 and 10."""
    fig = drawn(9, tiny_tables(np.random.default_rng(2)),
                dataclasses.replace(RELEASED, block_swap_smoothing=start))
    for ax, scale in zip(fig.axes, (1, 10)):
        assert len(ax.lines) == 4
        assert all(line.get_ydata()[0] == pytest.approx(first * scale) for line in ax.lines)
    plt.close(fig)


def test_docs_figure_index_is_up_to_date():
    assert (REPO / "docs/figures.md").read_text() == figure_index(CATALOGUE), \
        "run `python scripts/figure_index.py`"


def planned_jobs(root, target):
    result = run_snakemake(root, target, "-n", "--configfile", "presets/quick.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout + result.stderr
    stats = text[text.index("Job stats"):]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M))
    return {rule: int(n) for rule, n in counts.items() if rule != "total"}, text


@pytest.fixture(scope="module")
def fresh_workflow(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("single"))


def test_one_figure_plans_only_what_it_needs(fresh_workflow):
    jobs, text = planned_jobs(fresh_workflow, "results/figures/fig03.pdf")
    # Fig. 3: parameter change of the three Hopper seed-666 main runs; no probes.
    assert jobs["train_run"] == 3 and jobs["parameter_change_tables"] == 1
    assert jobs["figure"] == 1 and "probe_run" not in jobs
    runs = set(re.findall(r"results/runs/(\w+)/(\w+)/([\w-]+)/seed(\d+)/metrics.csv", text))
    assert runs == {("main", model, "hopper-medium", "666") for model in ("random", "gpt2", "igpt")}
    jobs, _ = planned_jobs(fresh_workflow, "results/figures/fig01.pdf")
    # Fig. 1: CKA of the main runs of every env, seed 666, at epochs 0 and final.
    assert jobs["train_run"] == 9 and jobs["probe_run"] == 9 and jobs["cka_tables"] == 3


def test_one_env_and_one_seed_plan_every_figure_they_can_and_say_what_is_left_out(
        fresh_workflow):
    """envs: [hopper] and seeds: [666]: every panel of Hopper and seed 666 is planned, the
    log names what is left out and why, and asking for a figure of another seed stops in
    one line naming the seed and its config key."""
    (fresh_workflow / "hopper.yaml").write_text("envs: [hopper]\nseeds: [666]\n")
    config = ("--configfile", "presets/quick.yaml", "hopper.yaml")
    result = run_snakemake(fresh_workflow, "-n", *config)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout + result.stderr
    drawable = {number for number, panels in data_figures(CATALOGUE).items()
                if any(p.envs == ["hopper"] and p.seed in (666, None) for p in panels)}
    planned = {int(n) for n in re.findall(r"output: results/figures/fig(\d\d)\.pdf", text)}
    assert planned == drawable and len(planned) == 28
    assert ("left out, as the configuration cannot make it: figure 25: seed 42 is not in "
            "seeds (config key seeds)") in text
    assert "figure 1 without panel(s) b, c: env 'halfcheetah' is not in envs" in text
    spec = re.search(r"draw_figure\.py '(\{[^']*\"figure\": 1,[^']*\})'", text)[1]
    assert json.loads(spec)["panels"] == ["a"]
    refused = run_snakemake(fresh_workflow, "results/figures/fig25.pdf", "-n", *config)
    assert refused.returncode != 0
    assert ("figure 25 cannot be drawn: seed 42 is not in seeds (config key seeds)"
            in refused.stdout + refused.stderr)
