"""The figure catalogue, its drawers, docs/figures.md and single-figure requests."""

import re

import pandas as pd
import pytest

from helpers import REPO, copy_workflow, run_snakemake
from modality_rl.figures.catalogue import data_figures, load_catalogue, panel_epoch
from modality_rl.figures.curves import ema
from modality_rl.figures.draw import panel_inputs
from modality_rl.figures.index import figure_index
from modality_rl.figures.registry import KINDS

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


def test_ema_is_the_released_codes_smoothing():
    smoothed = ema(pd.Series([1.0, 0.0, 0.0, 1.0]), 0.8)
    assert smoothed.tolist() == pytest.approx([1.0, 0.8, 0.64, 0.712])


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
