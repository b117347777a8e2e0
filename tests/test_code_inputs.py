"""contract: code is an input. Every rule's params carry the digest of its job's code (its
script and the modules it imports, as syntax trees), so an edit that changes what the code
computes reruns the jobs that run it, and a comment, docstring or layout edit reruns
nothing. The quick preset's full DAG is checked in tests/test_dvc.py."""

from __future__ import annotations

import re

import pytest

from helpers import QUICK, REPO, run_snakemake, workflow_rules
from modality_rl.code import code_digest, import_closure

TABLE3 = "results/paper_tables/table3.md"  # configuration_table: no inputs, seconds to make


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def planned_rules(project, *targets: str) -> list[str]:
    result = run_snakemake(project, *targets, "-n", *QUICK)
    assert result.returncode == 0, result.stderr[-3000:]
    return re.findall(r"^rule (\w+):", result.stdout + result.stderr, re.M)


def test_every_rule_that_runs_a_script_carries_its_codes_digest():
    rules = workflow_rules(("presets/quick.yaml",))
    assert all(rule["code"] for rule in rules.values() if rule["runs"]), [
        name for name, rule in rules.items() if rule["runs"] and not rule["code"]]


def test_the_digest_reads_syntax_trees(tmp_path):
    script = tmp_path / "job.py"
    script.write_text('"""A job."""\nfrom modality_rl import paths\n\nX = paths.fill("{a}", a=1)\n')
    before = code_digest([script])
    script.write_text('"""Another docstring."""\n# a comment\nfrom modality_rl import paths\n'
                      'X = paths.fill(  "{a}",\n    a=1,\n)\n')
    assert code_digest([script]) == before
    script.write_text('"""A job."""\nfrom modality_rl import paths\n\nX = paths.fill("{a}", a=2)\n')
    assert code_digest([script]) != before
    assert REPO / "src/modality_rl/paths.py" in import_closure([script])


def test_analysis_jobs_carry_their_builders_code():
    """An analysis' builder is imported by name: its job's digest includes it."""
    base = code_digest([REPO / "scripts" / "analysis_tables.py"])
    cka = code_digest([REPO / "scripts" / "analysis_tables.py"],
                      ["modality_rl.tables.cka:cka_tables"])
    assert base != cka
    with pytest.raises(ValueError, match="not modules of modality_rl"):
        code_digest([REPO / "scripts" / "analysis_tables.py"], ["modality_rl.nothing:x"])


def test_a_code_edit_reruns_the_job_that_runs_it_and_a_comment_does_not(workflow_copy):
    made = run_snakemake(workflow_copy, TABLE3, *QUICK)
    assert made.returncode == 0, made.stderr[-3000:]
    paper = workflow_copy / "src/modality_rl/tables/paper.py"
    original = paper.read_text()
    edit(paper, '"""Tables 1, 2 and 4', '# a comment\n"""Tables one, two and four')
    assert planned_rules(workflow_copy, TABLE3) == []  # comments and docstrings: nothing
    edit(workflow_copy / "src/modality_rl/training.py", "DEVICE_DATASET_SHARE = 0.25",
         "DEVICE_DATASET_SHARE = 0.5")
    assert planned_rules(workflow_copy, TABLE3) == []  # code Table 3 does not run
    paper.write_text(original.replace(":.1f}", ":.2f}"))
    assert planned_rules(workflow_copy, TABLE3) == ["configuration_table"]
    result = run_snakemake(workflow_copy, TABLE3, "-n", *QUICK)
    assert "Params have changed since last execution" in result.stdout + result.stderr
    # A deliberate refactor: accept the outputs as they are (docs/running.md).
    touched = run_snakemake(workflow_copy, TABLE3, "--touch", *QUICK)
    assert touched.returncode == 0, touched.stderr[-3000:]
    assert planned_rules(workflow_copy, TABLE3) == []
