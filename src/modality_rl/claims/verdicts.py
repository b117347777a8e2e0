"""The claims file, its comparisons, and each claim's verdict on the tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from modality_rl.analyses import analysis_of, registered_tables
from modality_rl.claims.statistics import STATISTICS, ClaimDataError
from modality_rl.inputs import read_table

VERDICTS = ("reproduced", "not reproduced", "inconclusive")
MIN_SEEDS = 2

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
    min_seeds: int = MIN_SEEDS  # per comparison and env; 1 where the paper ran one seed


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
    unknown = set(entry["tables"]) - set(registered_tables())
    if unknown:
        raise ValueError(f"{where}: tables {sorted(unknown)} are not tables the pipeline "
                         f"writes ({registered_tables()})")
    return Claim(id=str(entry["id"]), section=str(entry["section"]),
                 statement=entry["statement"], figures=tuple(entry["figures"]),
                 tables=tuple(entry["tables"]), tests=tuple(tests),
                 envs=tuple(entry["envs"]) if "envs" in entry else None,
                 paper=entry.get("paper", ""), note=entry.get("note", ""),
                 min_seeds=int(entry.get("min_seeds", MIN_SEEDS)))


def load_claims(path: str | Path) -> list[Claim]:
    """The claims of `path`, checked: known statistics, tables the pipeline writes."""
    with open(path) as f:
        entries = yaml.safe_load(f)
    claims = [_claim(entry) for entry in entries]
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: claim ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    return claims


def claim_tables(claims: list[Claim], made: list[str]) -> list[str]:
    """Every table of `made` (the configuration's) some claim reads, in pipeline order;
    a claim whose table is not made is inconclusive, naming it."""
    read = {t for claim in claims for t in claim.tables}
    return [t for t in made if t in read]


def read_tables(paths: dict[str, str], dataset: str) -> dict[str, pd.DataFrame | None]:
    """{table: the rows of `dataset` in its gathered CSV}; None where the file is missing."""
    tables = {name: read_table(p) if Path(p).exists() else None for name, p in paths.items()}
    return {name: table if table is None else table[table["dataset"] == dataset]
            for name, table in tables.items()}


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


def cell_outcome(seeds: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> str:
    """holds, reversed, or the reason one (comparison, env) is inconclusive."""
    seeds = seeds.dropna(subset=["value"])
    if len(seeds) < min_seeds:
        return f"fewer than {min_seeds} seeds"
    if any(_within_null(row) for _, row in seeds.iterrows()):
        return "within the null baseline"
    if (seeds["value"] > 0).all():
        return "holds"
    if (seeds["value"] < 0).all():
        return "reversed"
    return "spread across seeds overlaps zero"


def numbered_tests(claim: Claim) -> dict[str, str]:
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
        unmade = [t for t in missing if t not in tables]
        reason = (f"table missing: {', '.join(missing)}" if not unmade else
                  f"table not made by this configuration: {', '.join(unmade)} (its "
                  f"analysis is left out: config key analysis.{analysis_of(unmade[0])})")
        return Verdict(claim=claim, verdict="inconclusive", reason=reason,
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
    number = numbered_tests(claim)
    for (label, comparison, env), seeds in rows.groupby(["test", "comparison", "env"],
                                                        sort=False):
        cell = number[label] + comparison
        outcome = cell_outcome(seeds, claim.min_seeds)
        outcomes.setdefault(outcome, {}).setdefault(cell, []).append(env)
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
