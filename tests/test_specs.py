"""Job specs: every job Snakemake plans hands its script a spec that loads into the
script's dataclass; settings dataclasses and the config schema agree; bad specs are
refused naming the field; a script runs by hand."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from functools import cache

import pandas as pd
import pytest
import yaml

from helpers import REPO, load_config, run_snakemake
from modality_rl.analyses import ANALYSES
from modality_rl.configuration import config_schema
from modality_rl.data.probe_batch import ProbeBatchConfig
from modality_rl.data.sources import D4RLSources, HubMirror
from modality_rl.data.synthetic import BehaviourPolicyConfig
from modality_rl.figures.options import FigureOptions
from modality_rl.metrics.mine import MineConfig
from modality_rl.models.backbones import Dropout, RandomBodyConfig
from modality_rl.pretraining import PretrainConfig
from modality_rl.probes.gradients import GradientConfig
from modality_rl.runs import Run, run_settings
from modality_rl.spec import SpecError, from_data, load_spec, schema_mismatch
from modality_rl.tables.builders import build_tables, builder_settings
from modality_rl.tables.cka import CkaSettings
from modality_rl.training import AdamEps, EvaluationSettings, TrainConfig

SCHEMA = config_schema(REPO / "schemas" / "config.schema.yaml")
COMMAND = re.compile(r"^Shell command: python (\S+) ('.*?') ", re.MULTILINE)


@cache
def job_class(script: str) -> type:
    """The job dataclass a script defines (the one it loads its spec into)."""
    module_spec = importlib.util.spec_from_file_location(f"script_{script}", REPO / script)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    (cls,) = [value for value in vars(module).values() if dataclasses.is_dataclass(value)
              and value.__module__ == module.__name__]
    return cls


def planned_specs(workflow, *configfile: str) -> list[tuple[str, str]]:
    """(script, spec) of every job of a dry run of the whole workflow."""
    result = run_snakemake(workflow, "-n", "--cores", "1", *configfile, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [(script, shlex.split(spec)[0])
            for script, spec in COMMAND.findall(result.stdout + result.stderr)]


@pytest.mark.parametrize("configfile", [(), ("--configfile", "presets/quick.yaml")],
                         ids=["paper", "quick"])
def test_every_planned_job_spec_loads_into_its_scripts_dataclass(workflow_copy, configfile):
    jobs = planned_specs(workflow_copy, *configfile)
    scripts = {script for script, _ in jobs}
    assert "scripts/train_run.py" in scripts and "scripts/analysis_tables.py" in scripts
    assert len(scripts) >= 12, scripts
    analyses = set()
    for script, spec in jobs:
        job = load_spec(job_class(script), spec)
        if script == "scripts/analysis_tables.py":  # its settings become the builder's type
            builder_settings(job.analysis, job.settings)
            analyses.add(job.analysis)
            # Order is meaning here: coordinates are the tables' first columns, and models
            # are compared (CKA between models) in config order.
            assert list(job.coordinates) == ["experiment", "env", "dataset", "seed"]
            if job.analysis == "cka":
                assert list(job.inputs) == ["random", "gpt2", "igpt"]
    assert analyses == set(ANALYSES)


@pytest.mark.parametrize("cls, section, planning", [
    (TrainConfig, "training", ()),
    (AdamEps, "training.adam_eps", ()),
    (Dropout, "training.dropout", ()),
    # A backbone entry's keys beyond a random body's: where weights come from, its label.
    (RandomBodyConfig, "backbones.random", ("source", "label", "name", "revision", "seed",
                                            "load_as", "modality")),
    (PretrainConfig, "pretraining.language", ()),
    (BehaviourPolicyConfig, "data.synthetic.behaviour_policy", ()),
    (D4RLSources, "data.d4rl", ()),
    (HubMirror, "data.d4rl.hub", ()),
    (ProbeBatchConfig, "probe", ()),
    (EvaluationSettings, "evaluation", ()),
    (CkaSettings, "analysis.cka", ("experiment", "epochs")),
    (FigureOptions, "figures", ()),
    (MineConfig, "analysis.mutual_information", ("experiment", "epoch")),
    (GradientConfig, "analysis.gradients", ("experiment", "epoch")),
])
def test_settings_dataclasses_are_the_schemas_sections(cls, section, planning):
    """A setting is defined once: its config section's keys are the dataclass's fields."""
    assert schema_mismatch(cls, SCHEMA, section, planning) == []
    assert cls.__dataclass_params__.frozen
    assert all(field.kw_only for field in dataclasses.fields(cls))


def test_schema_mismatch_names_the_missing_side():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Partial:
        batch_size: int
        momentum: float

    problems = schema_mismatch(Partial, SCHEMA, "training")
    assert "Partial.momentum is not a key of schema training" in problems
    assert "schema training.learning_rate has no field in Partial" in problems


def test_bad_specs_are_refused_naming_the_field():
    good = {"debiased": True, "thresholds": [0.2], "seed": 0}
    assert from_data(CkaSettings, good) == CkaSettings(debiased=True, thresholds=(0.2,), seed=0)
    for bad, message in [
        ({**good, "treshold": 1}, r"spec.treshold: unknown field; the fields are "
                                  r"\['debiased', 'seed', 'thresholds'\]"),
        ({"debiased": True, "seed": 0}, r"spec.thresholds: missing field"),
        ({**good, "thresholds": [0.2, "x"]},
         r"spec.thresholds\[1\]: input should be a valid number, got 'x'"),
        ({**good, "debiased": 1}, r"spec.debiased: input should be a valid boolean, got 1"),
        ({**good, "seed": "0"}, r"spec.seed: input should be a valid integer, got '0'"),
    ]:
        with pytest.raises(SpecError, match=message):
            from_data(CkaSettings, bad)
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(CkaSettings, "{debiased: true}")


def test_analysis_settings_are_checked_against_the_builders_type(tmp_path):
    with pytest.raises(SpecError, match=r"analysis.cka.thresholds: missing field"):
        build_tables("cka", {}, {}, [0, 1], {"debiased": True, "seed": 0})
    with pytest.raises(SpecError, match="analysis.attention_distance takes no settings"):
        build_tables("attention_distance", {}, {}, [0, 1], {"method": "mean"})


def script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "gather_table.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_a_script_runs_by_hand_with_a_spec_and_lists_its_fields(tmp_path):
    parts = []
    for seed in (1, 2):
        parts.append(tmp_path / f"part{seed}.csv")
        pd.DataFrame({"seed": [seed] * 3, "value": [0.1, 0.2, 0.3]}).to_csv(parts[-1], index=False)
    spec = {"partitions": [str(p) for p in parts], "out": str(tmp_path / "all.csv")}
    ran = script(json.dumps(spec))
    assert ran.returncode == 0, ran.stderr
    assert pd.read_csv(tmp_path / "all.csv")["seed"].tolist() == [1, 1, 1, 2, 2, 2]
    (tmp_path / "spec.json").write_text(json.dumps({**spec, "out": str(tmp_path / "b.csv")}))
    assert script(f"@{tmp_path / 'spec.json'}").returncode == 0
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "all.csv").read_text()
    helped = script("--help")
    assert "partitions: tuple[str, ...]" in helped.stdout and "out: str" in helped.stdout
    refused = script(json.dumps({"partitions": [str(parts[0])]}))
    assert refused.returncode == 2 and "spec.out: missing field" in refused.stderr


def test_an_edited_setting_reruns_the_jobs_reading_it_and_reordered_keys_do_not(
        workflow_copy):
    """Snakemake compares a job's params with its last run's only for params functions of
    the wildcards alone: the job specs are, so a setting they carry reruns its job."""
    table3 = "results/paper_tables/table3.md"  # its spec carries the training section
    quick = yaml.safe_load((workflow_copy / "presets" / "quick.yaml").read_text())

    def plan(config: dict) -> str:
        (workflow_copy / "edited.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        result = run_snakemake(workflow_copy, table3, "-n", "--cores", "1",
                               "--configfile", "edited.yaml")
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout + result.stderr

    reordered = {key: dict(reversed(list(value.items()))) if isinstance(value, dict) else value
                 for key, value in reversed(list(quick.items()))}
    plan(reordered)  # writes edited.yaml
    # Every job of the DAG, not only table3's, gets the same spec from reordered keys.
    assert (sorted(planned_specs(workflow_copy, "--configfile", "edited.yaml"))
            == sorted(planned_specs(workflow_copy, "--configfile", "presets/quick.yaml")))
    made = run_snakemake(workflow_copy, table3, "--cores", "1", "--configfile",
                         "presets/quick.yaml")
    assert made.returncode == 0, made.stderr[-3000:]
    assert "Nothing to be done" in plan(reordered)
    edited = {**quick, "training": {**quick["training"], "learning_rate": 3e-4}}
    assert "Params have changed since last execution" in plan(edited)


def test_probe_job_refuses_unknown_sections_and_gradient_settings_without_their_section():
    probe_job = job_class("scripts/probe_run.py")
    gradients = {"max_norm": 0.25, "norm_samples": 4, "cosine_samples": 2, "chunk_size": 2,
                 "seed": 0}
    run = Run(experiment="main", model="random", env="hopper", dataset="medium", seed=666)
    base = {"settings": run_settings(load_config(), run, {}, [1, 4]), "checkpoints": "c",
            "probe_batch": "b", "out": "o"}
    job = from_data(probe_job, {**base, "sections": {"1": ["gradients"], "4": ["layers"]},
                                "gradients": gradients})
    assert job.sections == {1: ("gradients",), 4: ("layers",)}
    with pytest.raises(SpecError, match=r"sections\[4\]: unknown section\(s\) \['layer'\]"):
        from_data(probe_job, {**base, "sections": {"4": ["layer"]}, "gradients": None})
    with pytest.raises(SpecError, match="gradients goes with a 'gradients' section"):
        from_data(probe_job, {**base, "sections": {"4": ["layers"]}, "gradients": gradients})
