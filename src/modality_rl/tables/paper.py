"""Tables 1, 2 and 4 of the paper: best-epoch normalised score, mean ± std over seeds.

A run's best epoch is the trained epoch (1..N) with the highest mean return at the env's
curve target (the released plotting code's choice, `scores.CURVE_TARGET`); its score is
reported in both conventions, labelled: `paper` normalises with the mean returns of the
-random-v2 and -expert-v2 datasets, `d4rl` with D4RL's reference scores. Beside ours
stand the paper's published numbers (resources/paper_tables.tsv). A convention the env's
reference returns mark as missing (no random dataset among the sources) has no number,
only its reason (column `missing_reason`).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import pandas as pd

from modality_rl.bodies import PAPER_LABELS as MODEL_LABELS
from modality_rl.data.datasets import PAPER_DATASET
from modality_rl.scores import CONVENTIONS
from modality_rl.tables.learning_curves import best_epoch_scores

ENV_LABELS = {"hopper": "Hopper", "halfcheetah": "HalfCheetah", "walker2d": "Walker 2D"}


@dataclass(frozen=True, kw_only=True)
class PaperTable:
    number: int
    title: str
    experiment: str
    models: tuple[str, ...]
    seeds: tuple[int, ...] | None  # None: every configured seed


PAPER_TABLES = {table.number: table for table in (
    PaperTable(number=1, title="Normalized mean return", experiment="main",
               models=("gpt2", "igpt", "random"), seeds=None),
    PaperTable(number=2, title="Normalized return of K = 1", experiment="no_context",
               models=("gpt2", "random"), seeds=(666,)),
    PaperTable(number=4, title="Normalized return of K = 1 (seed = 666 & 42)",
               experiment="no_context", models=("gpt2", "random"), seeds=None),
)}


def published_numbers(path: str | os.PathLike, number: int) -> dict[tuple[str, str], str]:
    """Table `number`'s published cells by (env, model), from resources/paper_tables.tsv."""
    with open(path, newline="") as f:
        return {(r["env"], r["model"]): r["published"] for r in csv.DictReader(f, delimiter="\t")
                if int(r["table"]) == number}


def paper_table(table: PaperTable, curves: pd.DataFrame,
                published: dict[tuple[str, str], str],
                missing: dict[str, dict[str, str]] | None = None,
                others: list[str] = ()) -> pd.DataFrame:
    """Long table: env, model, convention, mean, std, seeds, the published number, and why
    a convention has no score (`missing`: env -> convention -> reason, from the env's
    reference returns). `others`: models beyond the paper's, after its own (no published
    number)."""
    models = [*table.models, *others]
    scores = best_epoch_scores(curves[curves["model"].isin(models)])
    if table.seeds is not None:
        scores = scores[scores["seed"].isin(table.seeds)]
    rows = []
    order = {env: i for i, env in enumerate(ENV_LABELS)}  # the paper's row order
    scores = scores.sort_values(["env", "model"], key=lambda column: column.map(
        order if column.name == "env" else {m: i for i, m in enumerate(models)}),
        kind="stable")
    for (env, model), runs in scores.groupby(["env", "model"], sort=False):
        for convention in CONVENTIONS:
            values = runs[f"score_{convention}"]
            reason = (missing or {}).get(env, {}).get(convention, "")
            rows.append({"table": table.number, "env": env, "model": model,
                         "convention": convention,
                         "mean": float("nan") if reason else values.mean(),
                         "std": float("nan") if reason else values.std(ddof=0),
                         "seeds": len(values),
                         "best_epochs": " ".join(map(str, runs["best_epoch"])),
                         "published": published.get((env, model), ""),
                         "missing_reason": reason})
    return pd.DataFrame(rows)


def markdown(table: PaperTable, long: pd.DataFrame, others: dict[str, str] | None = None,
             dataset: str = PAPER_DATASET, notes: list[str] = ()) -> str:
    """The paper's layout: one row per env, ours per model and convention, published beside
    (the `others`' columns, {model: label}, after the paper's, with no published number).
    A dataset other than the paper's is named in the title, and the published numbers are
    the paper's, on medium; `notes` (data that are not the paper's) open the table."""
    labels = {**MODEL_LABELS, **(others or {})}
    models = [*table.models, *(others or {})]
    title = f"# Table {table.number}: {table.title}"
    if dataset != PAPER_DATASET:
        title += (f" ({dataset}; *published*: the paper's numbers, on {PAPER_DATASET}, for "
                  "reference only)")
    lines = [title, "", *(f"**{note}.**" for note in notes), *([""] if notes else []),
             "Best-epoch normalised score, mean ± std over seeds (`paper`: random/expert "
             "dataset returns; `d4rl`: D4RL reference scores). *Published*: the paper's number.",
             ""]
    header = ["Environment"]
    for model in models:
        header += [f"{labels[model]} ({c})" for c in CONVENTIONS]
        header.append(f"{labels[model]} (published)")
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for env, rows in long.groupby("env", sort=False):
        cells = [ENV_LABELS[env]]
        for model in models:
            of_model = rows[rows["model"] == model].set_index("convention")
            cells += ["missing" if of_model.loc[c, "missing_reason"] else
                      f"{of_model.loc[c, 'mean']:.1f} ± {of_model.loc[c, 'std']:.1f}"
                      for c in CONVENTIONS]
            cells.append(of_model["published"].iloc[0] or "-")
        lines.append("| " + " | ".join(cells) + " |")
    gaps = long[long["missing_reason"] != ""].groupby(["convention", "missing_reason"],
                                                      sort=False)
    if gaps.ngroups:
        lines += ["", "Missing:"]
        lines += [f"- `{convention}` ({', '.join(ENV_LABELS[e] for e in gap['env'].unique())}): "
                  f"{reason}" for (convention, reason), gap in gaps]
    return "\n".join(lines) + "\n"


def configuration_table(config: dict) -> str:
    """Table 3 (training configuration) rendered from the configuration in use, with the
    paper's value beside where it differs."""
    training, body, main = config["training"], config["backbones"]["random"], \
        config["experiments"]["main"]
    targets = config["evaluation"]["targets"]
    rows = [
        ("# Layers", body["n_layer"], 12), ("Emb. Dim.", body["n_embd"], 768),
        ("# Attention Heads", body["n_head"], 1), ("Batch size", training["batch_size"], 64),
        ("Context", main["context_length"], 20),
        ("Return-to-go conditioning",
         ", ".join(f"{'/'.join(map(str, targets[env]))} {ENV_LABELS[env]}" for env in targets),
         "6000 HalfCheetah 3600 Hopper 5000 Walker"),
        ("Dropout", training["dropout"]["residual"], 0.2),
        ("Learning rate", training["learning_rate"], 1e-4),
        ("LR Warmup", f"{training['warmup_steps']} steps", "5000 steps"),
        ("Epoch", main["epochs"], 40), ("# Steps per Epoch", training["steps_per_epoch"], 2500),
        ("Optimizer", "AdamW", "Adam"), ("Weight Decay", training["weight_decay"], 1e-4),
    ]
    lines = ["# Table 3: Training configuration", "",
             "From the configuration this run used; *paper*: Table 3 of the paper. The "
             "optimiser is AdamW with weight decay, as the released code used.", "",
             "| | this run | paper |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {paper} |" for name, value, paper in rows]
    return "\n".join(lines) + "\n"
