"""What the claims rule writes: claims.csv, claims.md, claims.rst and the verdict counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modality_rl.claims.verdicts import ROW_COLUMNS, VERDICTS, Verdict, numbered_tests


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


# Settings that change no number (where training shows its live curves): a run is not
# compared on them, so that changing them reruns no claims job either.
UNCOMPARED = ("tracking",)


def compared_settings(config: dict) -> dict:
    """The configuration without its UNCOMPARED sections: what the claims job reads."""
    return {key: value for key, value in config.items() if key not in UNCOMPARED}


def configuration_differences(config: dict, paper: dict, prefix: str = "") -> list[str]:
    """Keys whose value differs between the run's configuration and the paper's, dotted
    (UNCOMPARED sections left out)."""
    if not prefix:
        config, paper = compared_settings(config), compared_settings(paper)
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


def random_weight_bodies(config: dict) -> list[str]:
    """The pre-trained bodies this configuration gives RANDOM weights instead (`source:
    architecture`: the real shapes, no pre-training; presets/paper_shapes.yaml)."""
    return sorted(name for name, body in config.get("backbones", {}).items()
                  if isinstance(body, dict) and body.get("source") == "architecture")


def caveat(differences: list[str], random_bodies: list[str] = ()) -> str:
    """Whether this run's verdicts speak to the paper, from its configuration's differences
    and the bodies that have random instead of pre-trained weights."""
    if not differences:
        return ("This run uses the paper's configuration (``config.yaml``): its verdicts "
                "speak to the paper.")
    shown = ", ".join(f"``{d}``" for d in differences[:10])
    more = f" and {len(differences) - 10} more" if len(differences) > 10 else ""
    warning = ""
    if random_bodies:
        names = ", ".join(f"``{name}``" for name in random_bodies)
        warning = (f"**RANDOM WEIGHTS: the {names} bodies are NOT pre-trained.** They have "
                   "their real architectures with randomly drawn weights (``source: "
                   "architecture``), so no verdict here says anything about pre-training. ")
    return (f"{warning}**Not the paper's configuration.** This run differs from "
            f"``config.yaml`` in {shown}{more}. Its verdicts are whatever its tables say. "
            "With a configuration like the quick preset's, the bodies and training steps "
            "are far too small for the verdicts to mean anything about the paper: only the "
            "paper configuration's verdicts speak to the paper.")


def summary_line(verdicts: list[Verdict]) -> str:
    counts = verdict_counts(verdicts)
    return (f"{counts['reproduced']} reproduced, {counts['not_reproduced']} not reproduced, "
            f"{counts['inconclusive']} inconclusive, of {counts['claims']} claims.")


def report_cells(v: Verdict) -> list[list[str]]:
    """One claim's row of the report: each cell as its lines of plain text."""
    claim = v.claim
    number = numbered_tests(claim)
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


def claims_markdown(verdicts: list[Verdict], differences: list[str],
                    random_bodies: list[str] = ()) -> str:
    lines = ["# Does this run reproduce the paper?", "",
             "> " + caveat(differences, random_bodies), "",
             summary_line(verdicts), "", "| " + " | ".join(REPORT_COLUMNS) + " |",
             "|" + "---|" * len(REPORT_COLUMNS)]
    for v in verdicts:
        cells = ["<br>".join(_plain(line) for line in cell) for cell in report_cells(v)]
        cells[REPORT_COLUMNS.index("verdict")] = f"**{v.verdict}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", HOW_DECIDED, ""])


def claims_rst(verdicts: list[Verdict], differences: list[str],
               random_bodies: list[str] = ()) -> str:
    """The same report in reStructuredText, for the Snakemake report's front page."""
    lines = ["Does this run reproduce the paper?", "=" * 34, "", ".. warning::" if differences
             else ".. note::", "", "   " + caveat(differences, random_bodies), "",
             summary_line(verdicts), "",
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
