"""The benchmark scripts still start: each builds its options (some from config.yaml's
keys) and prints its help. They are run by hand, so nothing else notices a renamed key."""

import subprocess
import sys

import pytest

from helpers import REPO

SCRIPTS = sorted(p.name for p in (REPO / "bench").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_prints_its_help(script):
    result = subprocess.run([sys.executable, f"bench/{script}", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage:" in result.stdout, result.stderr[-2000:]
