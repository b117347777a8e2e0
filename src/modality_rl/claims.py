"""Does this run reproduce the paper? Each claim of resources/claims.yaml, tested on the
metric tables (results/tables/<table>.csv) per env and seed, with a verdict and its reason.

A claim holds one or more tests: a statistic (`STATISTICS`, computed from the tables
only) gives one value per (env, seed, subject), a subject being a model or a part of one
("random/shallow", "gpt2/block1"); a comparison such as "gpt2 < random" or "igpt > 0.5"
turns two values into a margin, positive where the claim's direction holds. Where the
statistic has a null baseline (MINE's shuffled pairs, CKA's permutation floor), `null` is
the 95th percentile of the null values the statistic averages over.

Verdicts, per claim:
- one cell per (comparison, env) over the seeds with a value:
  fewer than 2 seeds -> inconclusive ("fewer than 2 seeds");
  in some seed the larger side does not exceed its null -> inconclusive ("within the
  null baseline");
  margin > 0 in every seed -> holds; < 0 in every seed -> reversed; otherwise
  inconclusive ("spread across seeds overlaps zero");
- a table missing, or lacking what the statistic reads -> inconclusive;
- any reversed cell -> not reproduced; else any inconclusive cell -> inconclusive;
  else (every cell holds) -> reproduced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from modality_rl.analyses import all_tables
from modality_rl.figures.catalogue import panel_epoch
from modality_rl.figures.paper_tables import best_epoch_scores
from modality_rl.scores import CURVE_TARGET

CLAIMS_FILE = Path(__file__).resolve().parents[2] / "resources" / "claims.yaml"
VERDICTS = ("reproduced", "not reproduced", "inconclusive")
NULL_QUANTILE = 0.95
LAYER_NORMS = ("ln_1", "ln_2")
MIN_SEEDS = 2


class ClaimDataError(ValueError):
    """A table lacks what a statistic reads: the claim is inconclusive, with this reason."""


# ---------------------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Statistic:
    tables: tuple[str, ...]
    # compute(tables, **parameters) -> one row per env, seed, subject: value, null
    compute: Callable[..., pd.DataFrame]


STATISTICS: dict[str, Statistic] = {}


def statistic(*tables: str):
    """Register `compute(tables, **parameters)` under its name, reading `tables`."""
    def register(compute):
        STATISTICS[compute.__name__] = Statistic(tables, compute)
        return compute
    return register


def _columns(rows: pd.DataFrame, table: str, *columns: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ClaimDataError(f"table {table} has no column {', '.join(missing)} "
                             "(made by older code? rebuild it)")


def _summary(rows: pd.DataFrame, column: str, how: str = "mean",
             null_column: str | None = None) -> pd.DataFrame:
    """One row per (env, seed, subject): `how` of `column`, and the NULL_QUANTILE of
    `null_column` over the same rows (NaN without one)."""
    grouped = rows.groupby(["env", "seed", "subject"])
    summary = grouped[column].agg(how).rename("value").to_frame()
    summary["null"] = grouped[null_column].quantile(NULL_QUANTILE) if null_column else np.nan
    return summary.reset_index()


@statistic("cka_pre_post")
def mean_cka_pre_post(tables: dict, token: str, split: str | None = None) -> pd.DataFrame:
    """Mean over layers of CKA(pre, post) at `token`, per model; split `depth_halves`: per
    model and half (shallow, deep) of the normalised layer axis. Null: cka_null."""
    rows = tables["cka_pre_post"]
    _columns(rows, "cka_pre_post", "cka", "cka_null")
    rows = rows[rows["token"] == token].copy()
    rows["subject"] = rows["model"]
    if split == "depth_halves":
        half = rows.groupby("model")["normalised_layer"].transform("max") / 2
        rows["subject"] += np.where(rows["normalised_layer"] < half, "/shallow", "/deep")
    elif split is not None:
        raise ValueError(f"mean_cka_pre_post: unknown split {split!r} (depth_halves)")
    return _summary(rows, "cka", null_column="cka_null")


@statistic("cka_layers_above_threshold")
def layer_norm_share_above_threshold(tables: dict, model: str, token: str,
                                     threshold: float) -> pd.DataFrame:
    """Share of ln_1/ln_2 layers among `model`'s layers whose CKA(pre, post) at `token`
    exceeds `threshold`; NaN for a run with no such layer."""
    rows = tables["cka_layers_above_threshold"]
    runs = rows[["env", "seed"]].drop_duplicates()
    rows = rows[(rows["model"] == model) & (rows["token"] == token)
                & np.isclose(rows["threshold"], threshold)].copy()
    rows["is_norm"] = rows["layer"].str.split(".").str[-1].isin(LAYER_NORMS)
    shares = rows.groupby(["env", "seed"])["is_norm"].mean().rename("value").reset_index()
    shares = runs.merge(shares, how="left", on=["env", "seed"])
    return shares.assign(subject=model, null=np.nan)


@statistic("mutual_information_hidden")
def mean_mi(tables: dict, depth: str, quantity: str, split: str | None = None) -> pd.DataFrame:
    """Mean MINE estimate over context positions (diverged ones dropped) at `depth` for
    `quantity` (input, label), per model; split `token`: per model and token type.
    Null: mi_null."""
    rows = tables["mutual_information_hidden"]
    _columns(rows, "mutual_information_hidden", "mi", "mi_null")
    rows = rows[(rows["depth"] == depth) & (rows["quantity"] == quantity)].copy()
    rows["subject"] = rows["model"]
    if split == "token":
        rows["subject"] += "/" + rows["token"]
    elif split is not None:
        raise ValueError(f"mean_mi: unknown split {split!r} (token)")
    return _summary(rows, "mi", null_column="mi_null")


@statistic("parameter_change")
def mean_parameter_change(tables: dict, column: str) -> pd.DataFrame:
    """Mean over the blocks' parameter sets of `column` (l2_distance, cosine_similarity)."""
    rows = tables["parameter_change"]
    _columns(rows, "parameter_change", column)
    return _summary(rows.assign(subject=rows["model"]), column)


@statistic("gradient_confusion")
def min_gradient_cosine(tables: dict) -> pd.DataFrame:
    """The minimum pairwise cosine of the per-sample gradients, per model."""
    rows = tables["gradient_confusion"]
    return _summary(rows.assign(subject=rows["model"]), "min_cosine", "min")


@statistic("gradient_norms")
def median_gradient_norm(tables: dict) -> pd.DataFrame:
    """The median of the clipped per-sample gradient norms, per model."""
    rows = tables["gradient_norms"]
    return _summary(rows.assign(subject=rows["model"]), "norm", "median")


@statistic("gradient_norm_share")
def gradient_norm_share(tables: dict, model: str, groups: list[str]) -> pd.DataFrame:
    """`model`'s summed share of the gradient norm held by the parameter `groups`."""
    rows = tables["gradient_norm_share"]
    rows = rows[(rows["model"] == model) & rows["group"].isin(groups)]
    return _summary(rows.assign(subject=model), "share", "sum")


def _curve_rows(tables: dict, experiment: str, metric: str) -> pd.DataFrame:
    """`metric` of the experiment's trained epochs; evaluation metrics at the curve target."""
    rows = tables["learning_curves"]
    rows = rows[(rows["experiment"] == experiment) & (rows["metric"] == metric)
                & (rows["epoch"] > 0)]
    if metric != "action_error":
        rows = rows[rows["target_return"] == rows["env"].map(CURVE_TARGET)]
    if rows.empty:
        raise ClaimDataError(f"learning_curves has no {metric} of experiment {experiment}")
    return rows


@statistic("learning_curves")
def mean_over_epochs(tables: dict, experiment: str, metric: str,
                     focus: str | None = None) -> pd.DataFrame:
    """Mean over the trained epochs of `metric` (action_error, return_mean,
    normalised_score_paper, ...) per model of `experiment`; with `focus`, the focused
    model against `others`, the mean of every other model."""
    rows = _curve_rows(tables, experiment, metric).copy()
    rows["subject"] = rows["model"]
    if focus is not None:
        rows.loc[rows["model"] != focus, "subject"] = "others"
    return _summary(rows, "value")


@statistic("learning_curves")
def best_normalised_score(tables: dict, convention: str = "paper") -> pd.DataFrame:
    """The best-epoch normalised score of Tables 1, 2, 4, per `experiment/model`."""
    rows = tables["learning_curves"]
    scores = []
    for experiment, runs in rows.groupby("experiment"):
        best = best_epoch_scores(runs)
        scores.append(best.assign(subject=experiment + "/" + best["model"],
                                  value=best[f"score_{convention}"]))
    return pd.concat(scores)[["env", "seed", "subject", "value"]].assign(null=np.nan)


@statistic("attention_distance_gap")
def mean_attention_gap(tables: dict, epoch: int, method: str = "mean",
                       exclude_blocks: tuple[int, ...] = (),
                       focus_block: int | None = None) -> pd.DataFrame:
    """Mean over probe samples and blocks of the attention-distance gap to epoch 0 at
    `epoch` (a shorter run: its nearest earlier analysed epoch), per model; blocks in
    `exclude_blocks` left out; with `focus_block` b, per model `block{b}` against
    `other_blocks`."""
    rows = tables["attention_distance_gap"]
    rows = rows[(rows["method"] == method) & ~rows["block"].isin(exclude_blocks)]
    drawn = rows.groupby(["env", "seed"])["epoch"].transform(
        lambda epochs: panel_epoch(epoch, sorted(set(epochs))))
    rows = rows[rows["epoch"] == drawn].copy()
    rows["subject"] = rows["model"]
    if focus_block is not None:
        rows["subject"] += np.where(rows["block"] == focus_block, f"/block{focus_block}",
                                    "/other_blocks")
    return _summary(rows, "gap")


# ---------------------------------------------------------------------------- claims

COMPARISON = re.compile(r"^(?P<left>\S+) (?P<op>[<>]) (?P<right>\S+)"
                        r"(?: (?P<sign>[+-]) (?P<offset>\d+(?:\.\d+)?))?$")


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """`left op right [+- offset]`, right a subject or a number."""

    text: str
    left: str
    op: str
    right: str | float
    offset: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Comparison:
        match = COMPARISON.match(text)
        if not match:
            raise ValueError(f"comparison {text!r} is not 'A < B', 'A > B', 'A > B - c' or "
                             "'A > c'")
        right = match["right"]
        try:
            right = float(right)
        except ValueError:
            pass
        offset = float(match["offset"] or 0) * (-1 if match["sign"] == "-" else 1)
        return cls(text=text, left=match["left"], op=match["op"], right=right, offset=offset)

    @property
    def subjects(self) -> list[str]:
        return [self.left] + ([] if isinstance(self.right, float) else [self.right])

    def margin(self, left: float, right: float) -> float:
        """Positive where the comparison holds: left - (right + offset) for >."""
        bound = right + self.offset
        return left - bound if self.op == ">" else bound - left


@dataclass(frozen=True, kw_only=True)
class ClaimTest:
    statistic: str
    parameters: dict
    comparisons: tuple[Comparison, ...]

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        return f"{self.statistic}({shown})"


@dataclass(frozen=True, kw_only=True)
class Claim:
    id: str
    section: str
    statement: str
    figures: tuple[str, ...]
    tables: tuple[str, ...]
    tests: tuple[ClaimTest, ...]
    envs: tuple[str, ...] | None = None
    paper: str = ""
    note: str = ""


def _claim(entry: dict) -> Claim:
    where = f"claim {entry.get('id', '?')}"
    tests = []
    for test in entry["tests"]:
        if test["statistic"] not in STATISTICS:
            raise ValueError(f"{where}: unknown statistic {test['statistic']!r}; known: "
                             f"{sorted(STATISTICS)}")
        read = set(STATISTICS[test["statistic"]].tables)
        if not read <= set(entry["tables"]):
            raise ValueError(f"{where}: statistic {test['statistic']} reads {sorted(read)}, "
                             f"which its tables {entry['tables']} must list")
        tests.append(ClaimTest(statistic=test["statistic"], parameters=dict(test["parameters"]),
                          comparisons=tuple(map(Comparison.parse, test["comparisons"]))))
    labels = [test.label for test in tests]
    if len(set(labels)) != len(labels):
        raise ValueError(f"{where}: two tests with the same statistic and parameters")
    unknown = set(entry["tables"]) - set(all_tables())
    if unknown:
        raise ValueError(f"{where}: tables {sorted(unknown)} are not tables the pipeline "
                         f"writes ({all_tables()})")
    return Claim(id=str(entry["id"]), section=str(entry["section"]),
                 statement=entry["statement"], figures=tuple(entry["figures"]),
                 tables=tuple(entry["tables"]), tests=tuple(tests),
                 envs=tuple(entry["envs"]) if "envs" in entry else None,
                 paper=entry.get("paper", ""), note=entry.get("note", ""))


def load_claims(path: str | Path = CLAIMS_FILE) -> list[Claim]:
    """The claims of `path`, checked: known statistics, tables the pipeline writes."""
    with open(path) as f:
        entries = yaml.safe_load(f)
    claims = [_claim(entry) for entry in entries]
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: claim ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    return claims


def claim_tables(claims: list[Claim]) -> list[str]:
    """Every table some claim reads, in pipeline order."""
    read = {t for claim in claims for t in claim.tables}
    return [t for t in all_tables() if t in read]


def read_tables(directory: str | Path, names: list[str]) -> dict[str, pd.DataFrame | None]:
    """results/tables/<name>.csv for each name; None where the file is missing."""
    paths = {name: Path(directory) / f"{name}.csv" for name in names}
    return {name: pd.read_csv(p) if p.exists() else None for name, p in paths.items()}


# ---------------------------------------------------------------------------- verdicts

@dataclass(frozen=True, kw_only=True)
class Verdict:
    claim: Claim
    verdict: str
    reason: str
    rows: pd.DataFrame  # per test, comparison, env and seed: the values and the margin


ROW_COLUMNS = ["test", "comparison", "env", "seed", "left", "right", "left_null", "right_null",
               "value"]


def _comparison_rows(values: pd.DataFrame, test: ClaimTest, comparison: Comparison) -> pd.DataFrame:
    """Per (env, seed): both sides' values and nulls, and the margin ("value")."""
    by_subject = values.set_index(["env", "seed", "subject"])[["value", "null"]]
    present = set(values["subject"])
    missing = [s for s in comparison.subjects if s not in present]
    if missing:
        raise ClaimDataError(f"{test.label}: no {', '.join(missing)} in the tables "
                             f"(subjects: {', '.join(sorted(present))})")
    left = by_subject.xs(comparison.left, level="subject")
    if isinstance(comparison.right, float):
        right = pd.DataFrame({"value": comparison.right, "null": np.nan}, index=left.index)
    else:
        right = by_subject.xs(comparison.right, level="subject")
    both = left.add_suffix("_left").join(right.add_suffix("_right"), how="inner")
    rows = pd.DataFrame({
        "test": test.label, "comparison": comparison.text,
        "left": both["value_left"], "right": both["value_right"],
        "left_null": both["null_left"], "right_null": both["null_right"],
        "value": [comparison.margin(a, b) for a, b in
                  zip(both["value_left"], both["value_right"])]}, index=both.index)
    return rows.reset_index()[ROW_COLUMNS]


def _within_null(row: pd.Series) -> bool:
    """The larger side of the comparison does not exceed its own null."""
    side = "left" if row["left"] >= row["right"] else "right"
    return bool(np.isfinite(row[f"{side}_null"]) and row[side] <= row[f"{side}_null"])


def cell_outcome(seeds: pd.DataFrame) -> str:
    """holds, reversed, or the reason one (comparison, env) is inconclusive."""
    seeds = seeds.dropna(subset=["value"])
    if len(seeds) < MIN_SEEDS:
        return "fewer than 2 seeds"
    if any(_within_null(row) for _, row in seeds.iterrows()):
        return "within the null baseline"
    if (seeds["value"] > 0).all():
        return "holds"
    if (seeds["value"] < 0).all():
        return "reversed"
    return "spread across seeds overlaps zero"


def _test_numbers(claim: Claim) -> dict[str, str]:
    """Test label -> "test i: " where the claim has several tests, else ""."""
    return {t.label: f"test {i}: " if len(claim.tests) > 1 else ""
            for i, t in enumerate(claim.tests, start=1)}


def _outcome_text(outcome: str, cells: dict[str, list[str]]) -> str:
    """'outcome: comparison in env, env; ...'."""
    return f"{outcome}: " + "; ".join(f"{cell} in {', '.join(envs)}"
                                      for cell, envs in cells.items())


def evaluate(claim: Claim, tables: dict[str, pd.DataFrame | None]) -> Verdict:
    """The claim's verdict on these tables, its reason and the per-seed rows."""
    missing = [t for t in claim.tables if tables.get(t) is None]
    if missing:
        return Verdict(claim=claim, verdict="inconclusive",
                       reason=f"table missing: {', '.join(missing)}",
                       rows=pd.DataFrame(columns=ROW_COLUMNS))
    parts = []
    try:
        for test in claim.tests:
            values = STATISTICS[test.statistic].compute(tables, **test.parameters)
            if claim.envs is not None:
                values = values[values["env"].isin(claim.envs)]
            parts += [_comparison_rows(values, test, c) for c in test.comparisons]
    except ClaimDataError as error:
        return Verdict(claim=claim, verdict="inconclusive", reason=str(error),
                       rows=pd.DataFrame(columns=ROW_COLUMNS))
    rows = pd.concat(parts, ignore_index=True)
    if rows.empty:
        return Verdict(claim=claim, verdict="inconclusive", reason="no env or seed to test",
                       rows=rows)
    # outcome -> "comparison" (with its test's number where the claim has several) -> envs
    outcomes: dict[str, dict[str, list[str]]] = {}
    number = _test_numbers(claim)
    for (label, comparison, env), seeds in rows.groupby(["test", "comparison", "env"],
                                                        sort=False):
        cell = number[label] + comparison
        outcomes.setdefault(cell_outcome(seeds), {}).setdefault(cell, []).append(env)
    if "reversed" in outcomes:
        verdict = "not reproduced"
        reason = _outcome_text("reversed in every seed", outcomes["reversed"])
    elif set(outcomes) != {"holds"}:
        verdict = "inconclusive"
        reason = " | ".join(_outcome_text(o, c) for o, c in outcomes.items() if o != "holds")
    else:
        seeds = rows.groupby("env")["seed"].nunique()
        counts = f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"
        verdict = "reproduced"
        reason = f"holds in every seed of every env ({len(seeds)} envs, {counts} seeds each)"
    return Verdict(claim=claim, verdict=verdict, reason=reason, rows=rows)


def evaluate_all(claims: list[Claim], tables: dict[str, pd.DataFrame | None]) -> list[Verdict]:
    return [evaluate(claim, tables) for claim in claims]


# ---------------------------------------------------------------------------- reports

def claims_table(verdicts: list[Verdict]) -> pd.DataFrame:
    """claims.csv: per claim, test, comparison, env and seed the values and margin, with
    the claim's verdict and reason on every row (one row for a claim with no values)."""
    parts = []
    for v in verdicts:
        rows = v.rows if len(v.rows) else pd.DataFrame([{c: np.nan for c in ROW_COLUMNS}])
        parts.append(rows.assign(claim=v.claim.id, verdict=v.verdict, reason=v.reason))
    table = pd.concat(parts, ignore_index=True).astype({"seed": "Int64"})
    return table[["claim", "verdict", "reason", *ROW_COLUMNS]]


def verdict_counts(verdicts: list[Verdict]) -> dict[str, int]:
    """claims.json for `dvc metrics`: how many claims got each verdict."""
    counts = {verdict.replace(" ", "_"): 0 for verdict in VERDICTS}
    for v in verdicts:
        counts[v.verdict.replace(" ", "_")] += 1
    return {**counts, "claims": len(verdicts)}


def configuration_differences(config: dict, paper: dict, prefix: str = "") -> list[str]:
    """Keys whose value differs between the run's configuration and the paper's, dotted."""
    differences = []
    for key in sorted(set(config) | set(paper)):
        ours, theirs = config.get(key), paper.get(key)
        if isinstance(ours, dict) and isinstance(theirs, dict):
            differences += configuration_differences(ours, theirs, f"{prefix}{key}.")
        elif ours != theirs:
            differences.append(f"{prefix}{key}")
    return differences


# Shared by claims.md and claims.rst: **bold**, *emphasis* and ``code`` read the same in both.
HOW_DECIDED = """\
**How verdicts are decided.** Each claim of ``resources/claims.yaml`` is tested from the
metric tables only. Its statistic gives one value per env, seed and subject (a model, or
a part of one); each comparison (the claim's direction, e.g. ``gpt2 < random``) gives a
margin per env and seed, positive where the claim holds. Per comparison and env: fewer
than 2 seeds is *inconclusive*; so is a seed where the larger side does not exceed its
null baseline (the 95th percentile of MINE's shuffled-pair or CKA's permutation values);
a positive margin in every seed *holds*, a negative one in every seed is *reversed*, and
anything else means the spread across seeds overlaps zero (*inconclusive*). A claim is
**not reproduced** if any comparison is reversed in some env, **reproduced** if every
comparison holds in every env, and **inconclusive** otherwise or when a table is missing.
The margins column lists each comparison's margin per seed. Only the paper
configuration's verdicts speak to the paper."""
REPORT_COLUMNS = ("claim", "statement", "figures", "test", "paper", "margins per seed",
                  "verdict", "reason")


def caveat(differences: list[str]) -> str:
    """Whether this run's verdicts speak to the paper, from its configuration's differences."""
    if not differences:
        return ("This run uses the paper's configuration (``config.yaml``): its verdicts "
                "speak to the paper.")
    shown = ", ".join(f"``{d}``" for d in differences[:10])
    more = f" and {len(differences) - 10} more" if len(differences) > 10 else ""
    return ("**Not the paper's configuration.** This run differs from ``config.yaml`` in "
            f"{shown}{more}. Its verdicts are whatever its tables say. With a "
            "configuration like the quick preset's, the bodies and training steps are far "
            "too small for the verdicts to mean anything about the paper: only the paper "
            "configuration's verdicts speak to the paper.")


def summary_line(verdicts: list[Verdict]) -> str:
    counts = verdict_counts(verdicts)
    return (f"{counts['reproduced']} reproduced, {counts['not_reproduced']} not reproduced, "
            f"{counts['inconclusive']} inconclusive, of {counts['claims']} claims.")


def report_cells(v: Verdict) -> list[list[str]]:
    """One claim's row of the report: each cell as its lines of plain text."""
    claim = v.claim
    number = _test_numbers(claim)
    tests = [f"{number[t.label]}{t.label}: {', '.join(c.text for c in t.comparisons)}"
             for t in claim.tests]
    margins = [f"{number[label]}{comparison}, {env}: " + ", ".join(
        f"{m:+.3g} (seed {seed})" for m, seed in zip(seeds["value"], seeds["seed"]))
        for (label, comparison, env), seeds in v.rows.groupby(["test", "comparison", "env"],
                                                              sort=False)]
    return [[f"{claim.id} ({claim.section})"], [claim.statement], [", ".join(claim.figures)],
            tests + ([f"({claim.note})"] if claim.note else []), [claim.paper or "n/a"],
            margins or ["n/a"], [v.verdict], [v.reason]]


def _plain(text: str) -> str:
    """One line of text with the characters Markdown and reST would read escaped."""
    text = " ".join(text.split())
    for char in "\\|*_`":  # the backslash first, before the others add theirs
        text = text.replace(char, "\\" + char)
    return text


def claims_markdown(verdicts: list[Verdict], differences: list[str]) -> str:
    lines = ["# Does this run reproduce the paper?", "", "> " + caveat(differences), "",
             summary_line(verdicts), "", "| " + " | ".join(REPORT_COLUMNS) + " |",
             "|" + "---|" * len(REPORT_COLUMNS)]
    for v in verdicts:
        cells = ["<br>".join(_plain(line) for line in cell) for cell in report_cells(v)]
        cells[REPORT_COLUMNS.index("verdict")] = f"**{v.verdict}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", HOW_DECIDED, ""])


def claims_rst(verdicts: list[Verdict], differences: list[str]) -> str:
    """The same report in reStructuredText, for the Snakemake report's front page."""
    lines = ["Does this run reproduce the paper?", "=" * 34, "", ".. warning::" if differences
             else ".. note::", "", "   " + caveat(differences), "", summary_line(verdicts), "",
             ".. list-table::", "   :header-rows: 1", ""]
    rows = [[[c] for c in REPORT_COLUMNS]] + [report_cells(v) for v in verdicts]
    for row_index, row in enumerate(rows):
        for column, cell in enumerate(row):
            escaped = [_plain(line) for line in cell]
            if row_index and REPORT_COLUMNS[column] == "verdict":
                escaped = [f"**{v}**" for v in escaped]
            bullet = "   * - " if column == 0 else "     - "
            if len(escaped) == 1:
                lines.append(bullet + escaped[0])
            else:  # a line block keeps the lines apart
                lines += [bullet + "| " + escaped[0]] + ["       | " + e for e in escaped[1:]]
    return "\n".join(lines + ["", HOW_DECIDED, ""])
