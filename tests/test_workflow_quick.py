"""End to end: the whole quick preset on CPU, in real MuJoCo (`quick_run`, conftest.py:
`dvc repro`, whose stages run Snakemake; tests/test_dvc.py checks DVC's side).

Data (SAC behaviour policies, datasets, probe batches), the tiny pre-trained backbones,
every training run of the four experiments, their probe dumps, every metric table and
figure, and the report.
"""

import csv
import json

import h5py
import numpy as np
import pandas as pd
import pytest

from helpers import QUICK, REPO, load_config, run_snakemake
from modality_rl.analyses import all_tables, checkpoint_epochs, probe_dump_path
from modality_rl.claims.verdicts import load_claims
from modality_rl.data.schema import verify_d4rl_file
from modality_rl.data.trajectories import mean_episode_return
from modality_rl.figures.catalogue import data_figures
from modality_rl.runs import enumerate_runs, run_settings

pytestmark = pytest.mark.slow
ENVS = ("hopper", "halfcheetah", "walker2d")


def test_every_dataset_is_verified_d4rl(quick_run):
    for env in ENVS:
        for dataset in ("medium", "random", "expert"):
            path = quick_run / f"results/data/synthetic/{env}_{dataset}-v2.hdf5"
            assert verify_d4rl_file(path, env) > 0


def test_medium_is_clearly_better_than_random(quick_run):
    for env in ENVS:
        refs = json.loads((quick_run / f"results/data/synthetic/{env}_reference_returns.json")
                          .read_text())
        medium = mean_episode_return(quick_run / f"results/data/synthetic/{env}_medium-v2.hdf5")
        spread = refs["paper_expert"] - refs["paper_random"]
        assert spread > 0, env
        # Medium-like: at least a fifth of the way from random to the best policy.
        assert medium > refs["paper_random"] + 0.2 * spread, (env, medium, refs)


def test_probe_batches_have_the_configured_shape(quick_run):
    for env, obs_dim in zip(ENVS, (11, 17, 17)):
        with h5py.File(quick_run / f"results/data/synthetic/{env}_medium_probe.hdf5") as f:
            assert f["states"].shape == (100, 20, obs_dim)
            assert np.isfinite(f["states"][()]).all()


def test_every_job_wrote_its_log_and_benchmark(quick_run):
    def stems(folder, suffix):
        return {p.relative_to(quick_run / folder).with_suffix("").as_posix()
                for p in (quick_run / folder).rglob(f"*{suffix}")}

    logs = stems("results/logs", ".log")
    assert logs == stems("results/benchmarks", ".tsv")
    assert {"pretrain/language", "pretrain/image"} <= logs
    assert all(p.stat().st_size > 0 for p in (quick_run / "results/logs").rglob("*.log"))


def quick_config():
    return load_config("presets/quick.yaml")


def test_every_run_of_the_four_experiments_trained(quick_run):
    config = quick_config()
    runs = enumerate_runs(config)
    assert {r.experiment for r in runs} == {"main", "no_context", "block_swap", "no_grad_clip"}
    locations = {"gpt2": {}, "igpt": {}}
    for run in runs:
        settings = run_settings(config, run, locations, checkpoint_epochs(config, run))
        schedule = settings["schedule"]
        with open(quick_run / run.directory / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        assert [int(r["epoch"]) for r in rows] == list(range(schedule["epochs"] + 1)), run
        assert rows[0]["action_error"] == "" and float(rows[-1]["action_error"]) > 0
        for target in settings["evaluation"]["targets"]:
            assert f"target_{target}_normalised_score_paper" in rows[0]
            assert f"target_{target}_normalised_score_d4rl" in rows[0]
        checkpoints = sorted(p.name for p in
                             (quick_run / run.directory / "checkpoints").glob("*.pt"))
        assert checkpoints == sorted(f"epoch{e}.pt" for e in schedule["checkpoint_epochs"]), run
        assert (quick_run / run.directory / "checkpoints" / "epoch0.json").exists()
        assert not (quick_run / run.directory / "work").exists()


def test_pretrained_stand_ins_learned(quick_run):
    for modality in ("language", "image"):
        summary = json.loads((quick_run / f"results/pretrained/{modality}"
                              / "pretraining_summary.json").read_text())
        assert summary["final_loss"] < 0.7 * summary["initial_loss"], summary


def test_probe_dumps_carry_provenance_and_only_the_sections_read_at_their_epoch(quick_run):
    config = quick_config()
    runs = [r for r in enumerate_runs(config) if r.experiment == "main" and r.env == "hopper"]
    # cka reads epochs 0 and 4 (final), mutual_information 4, gradients 1.
    expected = {0: ["layers"], 1: ["gradients"], 4: ["layers", "block_outputs"]}
    for run in runs:
        for epoch, sections in expected.items():
            with h5py.File(quick_run / probe_dump_path(run, epoch)) as f:
                assert f.attrs["epoch"] == epoch and f.attrs["model"] == run.model
                assert len(f.attrs["checkpoint_sha256"]) == 64
                assert len(f.attrs["config_hash"]) == 64 and len(f.attrs["code"]) == 16
                assert json.loads(f.attrs["sections"]) == sections, (run, epoch)
                assert sorted(f) == sorted(["inputs", *sections]), (run, epoch)
                if "layers" in sections:
                    n_layers = {"random": 27, "gpt2": 27, "igpt": 54}[run.model]
                    assert len(f["layers"]) == n_layers


def test_every_table_exists_with_every_partition(quick_run):
    config = quick_config()
    for table in all_tables(quick_config()):
        frame = pd.read_csv(quick_run / f"results/tables/{table}.csv")
        assert len(frame) > 0, table
        assert set(frame["env"]) == set(ENVS), table
        if "seed" in frame:
            assert set(frame["seed"]) == set(config["seeds"]), table
        if "model" in frame:
            assert frame["model"].notna().all(), table


def test_tables_hold_the_paper_coordinates(quick_run):
    tables = quick_run / "results/tables"
    cka = pd.read_csv(tables / "cka_pre_post.csv")
    # 3 envs x 2 seeds x 3 tokens x (27 + 27 + 54 layers)
    assert len(cka) == 3 * 2 * 3 * 108 and cka["cka"].between(-1.01, 1.01).all()
    assert cka["cka_null"].between(-1.01, 1.01).all()
    mi = pd.read_csv(tables / "mutual_information_hidden.csv")
    assert set(mi["depth"]) == {"shallow", "middle", "deep"}
    assert mi["position"].max() == 3 * 20 - 2 and mi["mi"].notna().mean() > 0.9
    assert mi["mi_null"].notna().mean() > 0.9
    assert set(mi[mi["model"] == "igpt"]["block"]) == {0, 3, 5}
    gap = pd.read_csv(tables / "attention_distance_gap.csv")
    assert set(gap["model"]) == {"random", "gpt2"} and set(gap["epoch"]) == {1, 4}
    norms = pd.read_csv(tables / "gradient_norms.csv")
    assert (norms.groupby(["env", "seed", "model"]).size() == 100).all()
    assert (norms["norm"] <= 0.25 + 1e-6).all()
    curves = pd.read_csv(tables / "learning_curves.csv")
    assert set(curves["experiment"]) == {"main", "no_context", "block_swap", "no_grad_clip"}


def test_every_catalogued_figure_is_drawn(quick_run):
    for number in data_figures(REPO / "resources/figures.tsv"):
        for ext in ("pdf", "png"):
            path = quick_run / f"results/figures/fig{number:02d}.{ext}"
            assert path.stat().st_size > 5000, path


def test_report_holds_every_figure_with_its_caption(quick_run):
    result = run_snakemake(quick_run, "--report", "report.html", *QUICK[2:], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (quick_run / "report.html").read_text(errors="replace")
    for number in data_figures(REPO / "resources/figures.tsv"):
        assert f"fig{number:02d}.pdf" in html, number
    assert data_figures(REPO / "resources/figures.tsv")[18][0].caption.split("(")[0].strip() in html
    # The report opens with the claims (report/workflow.rst includes results/claims.rst).
    description = html[html.index("var workflow_desc"):]
    assert "Does this run reproduce the paper?" in description[:500]


def test_claims_cover_every_claim_with_the_quick_preset_caveat(quick_run):
    md = (quick_run / "results/claims.md").read_text()
    claims = load_claims(REPO / "resources" / "claims.yaml")
    assert all(f"| {claim.id} (" in md for claim in claims)
    assert "Not the paper's configuration" in md and "too small" in md
    counts = json.loads((quick_run / "results/metrics/claims.json").read_text())
    assert counts["claims"] == len(claims) == sum(
        counts[v] for v in ("reproduced", "not_reproduced", "inconclusive"))
    verdicts = pd.read_csv(quick_run / "results/claims.csv")
    # The tables carry their nulls: no claim fails for a missing column or table.
    assert not verdicts["reason"].str.contains("no column|table missing").any()


def test_second_run_has_nothing_to_do(quick_run):
    result = run_snakemake(quick_run, *QUICK, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr
