"""The jobs `config.yaml` and the presets plan, against a recorded plan: refactoring the
workflow or the library must not change any job's command, inputs, outputs or resources.

A deliberate change of the plan is recorded again with

    RECORD_PLANS=1 python -m pytest tests/test_plans.py

and the diff of tests/plans/*.json.gz reviewed (`zcat`) like any other change.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex

import pytest

from helpers import REPO, run_snakemake

PLANS = REPO / "tests" / "plans"
CONFIGS = {"paper": (), "quick": ("presets/quick.yaml",),
           "paper_shapes": ("presets/paper_shapes.yaml",)}
# A dry run prints each job as a block of `key: value` lines; these vary between runs.
VOLATILE = {"jobid", "reason"}
JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)(?:Shell command: (.*)\n)?", re.M)


def spec_of(command: str) -> dict | None:
    """The JSON spec a job's command hands its script, or None (a rule with no script)."""
    words = shlex.split(command)
    return json.loads(words[2]) if len(words) > 2 and words[0] == "python" else None


def planned_jobs(workdir, *configfiles: str) -> dict[str, dict]:
    """{rule and outputs: the job's planned fields} of a dry run of the whole workflow."""
    args = [a for c in configfiles for a in ("--configfile", c)]
    result = run_snakemake(workdir, "-n", "--cores", "1", *args, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = {}
    for rule, body, command in JOB.findall(result.stdout + result.stderr):
        fields = dict(line.strip().split(": ", 1) for line in body.splitlines())
        fields = {k: v for k, v in fields.items() if k not in VOLATILE}
        if "resources" in fields:  # the temporary directory is the machine's
            fields["resources"] = re.sub(r"tmpdir=[^,]*(, )?", "", fields["resources"])
        if "input" in fields:  # Snakemake prints inputs in set order
            fields["input"] = sorted(fields["input"].split(", "))
        if command and command != "None":
            fields["command"] = command
            fields["spec"] = spec_of(command)
        key = f"{rule} -> {fields.get('output', '')}"
        assert key not in jobs, key
        jobs[key] = {"rule": rule, **fields}
    return jobs


def comparable(job: dict) -> dict:
    """What must not change: every field, the spec with its keys in their order (a job
    whose params text changes reruns), not the way the command quotes it."""
    return {**{k: v for k, v in job.items() if k != "command"},
            "spec": json.dumps(job.get("spec"))}


@pytest.mark.parametrize("name", CONFIGS)
def test_the_plan_is_the_recorded_plan(workflow_copy, name):
    jobs = planned_jobs(workflow_copy, *CONFIGS[name])
    path = PLANS / f"{name}.json.gz"
    if os.environ.get("RECORD_PLANS"):
        path.write_bytes(gzip.compress(json.dumps(jobs, indent=1).encode(), mtime=0))
    recorded = json.loads(gzip.decompress(path.read_bytes()))
    assert sorted(jobs) == sorted(recorded), (
        f"jobs added: {sorted(set(jobs) - set(recorded))[:5]}; "
        f"removed: {sorted(set(recorded) - set(jobs))[:5]}")
    changed = [key for key in jobs if comparable(jobs[key]) != comparable(recorded[key])]
    assert not changed, [(key, comparable(recorded[key]), comparable(jobs[key]))
                         for key in changed[:2]]
