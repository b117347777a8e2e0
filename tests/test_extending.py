"""Extending the pipeline by the docs: the analysis of docs/adding-an-analysis.md, written
from its code blocks into a copy of the workflow, runs to its table and figure; and a
configuration that leaves analyses out plans without them."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from helpers import REPO, copy_workflow, load_config, run_snakemake, seed_inputs

ANALYSIS_DOC = REPO / "docs" / "adding-an-analysis.md"
PAPER_ANALYSES = ("cka", "mutual_information", "parameter_change", "gradients",
                  "attention_distance")


def documented_files(doc) -> dict[str, str]:
    """{path: text} of every ```python block whose first line is `# <path>`."""
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", doc.read_text(), re.S)
    return {path: text for path, text in blocks}


def documented_section(doc) -> dict:
    """The ```yaml block under `analysis:`, as {name: section}."""
    (block,) = re.findall(r"```yaml\n# config.yaml, under analysis:\n(.*?)```", doc.read_text(),
                          re.S)
    return yaml.safe_load(block)


def plan(project, config: dict, *targets: str) -> str:
    (project / "test.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(project, *targets, "-n", "--cores", "1", "--configfile", "test.yaml")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout + result.stderr


def test_the_docs_list_three_files_and_one_for_a_figure():
    files = documented_files(ANALYSIS_DOC)
    assert sorted(files) == ["src/modality_rl/analyses/activation_norm.py",
                             "src/modality_rl/figures/activation_norm.py",
                             "src/modality_rl/tables/activation_norm.py"]
    assert set(documented_section(ANALYSIS_DOC)) == {"activation_norm"}


@pytest.mark.parametrize("left_out", [("gradients",), PAPER_ANALYSES],
                         ids=["gradients", "all five"])
def test_a_configuration_without_an_analysis_does_not_plan_it(workflow_copy, left_out):
    config = {"analysis": {name: None for name in left_out}}
    output = plan(workflow_copy, config)
    for name in left_out:
        assert f"{name}_tables" not in output, name
    assert "train_run" in output
    if "gradients" in left_out:  # its figures are left out, naming the key
        assert "figure 5: analysis gradients is not configured (config key " \
               "analysis.gradients)" in output
    kept = [name for name in PAPER_ANALYSES if name not in left_out]
    for name in kept:
        assert f"{name}_tables" in output, name


@pytest.mark.slow
def test_the_documented_analysis_runs_to_its_table_and_figure(quick_data, tmp_path):
    project = seed_inputs(quick_data, copy_workflow(tmp_path / "workflow"))
    for path, text in documented_files(ANALYSIS_DOC).items():
        (project / path).write_text(text)
    quick = yaml.safe_load((REPO / "presets" / "quick.yaml").read_text())
    config = {**quick, "envs": ["hopper"], "seeds": [666],
              "analysis": {**quick["analysis"], **documented_section(ANALYSIS_DOC)}}
    figure = "results/figures/analyses/activation_norm.pdf"
    assert "rule activation_norm_tables:" in plan(project, config)  # the whole DAG has it
    result = run_snakemake(project, figure, "--cores", "2", "--configfile", "test.yaml",
                           timeout=1500)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert (project / figure).stat().st_size > 0
    assert (project / figure.replace(".pdf", ".png")).stat().st_size > 0
    table = pd.read_csv(project / "results/tables/activation_norm/hopper-medium_seed666.csv")
    config = load_config("presets/quick.yaml")
    layers = {"random": config["backbones"]["random"]["n_layer"],
              "gpt2": config["pretraining"]["language"]["n_layer"],
              "igpt": config["pretraining"]["image"]["n_layer"]}
    assert table.groupby("model").size().to_dict() == {m: 9 * n for m, n in layers.items()}
    assert list(table.columns[:4]) == ["experiment", "env", "dataset", "seed"]
    assert (table["value"] > 0).all() and set(table["epoch"]) == {4}
