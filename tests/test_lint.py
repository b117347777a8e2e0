"""Lint and format gates: the workflow passes `snakemake --lint` with no finding, the
Python code `ruff check`, the rule files `snakefmt --check` (settings in pyproject.toml)."""

import shutil
import subprocess
import sys

import pytest

from helpers import REPO, run_snakemake


@pytest.mark.parametrize("configfile", [(), ("--configfile", "presets/quick.yaml")],
                         ids=["paper", "quick"])
def test_snakemake_lint_has_no_findings(workflow_copy, configfile):
    result = run_snakemake(workflow_copy, "--lint", *configfile)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Lints for" not in output and "in a good condition" in output, output[-3000:]


def test_ruff_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_rule_files_are_snakefmt_formatted():
    snakefmt = shutil.which("snakefmt")
    assert snakefmt, "snakefmt is in the test extra: pip install -e '.[test]'"
    result = subprocess.run([snakefmt, "--check", "Snakefile", "rules"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
