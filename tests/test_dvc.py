"""DVC's side of the pipeline (dvc.yaml): stages that run Snakemake, incremental reruns,
a remote, and the D4RL downloads it versions.

The slow tests share `quick_run` (conftest.py): the quick preset built by `dvc repro` in a
fresh git + DVC project. Each leaves that project as it found it.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import re
import shutil
from collections import Counter
import subprocess
import sys
from modulefinder import ModuleFinder
from pathlib import Path

import pytest
import yaml

from helpers import (QUICK, REPO, copy_workflow, init_git_and_dvc_project, load_config,
                     run_command, run_snakemake, same_checkpoints)
from modality_rl.runs import enumerate_runs

STAGES = ("data", "pretrain", "train", "probe", "metrics", "figures", "claims")
# Everything the stages write: all DVC outs, none overlapping.
RESULTS = ("data", "pretrained", "runs", "probes", "tables", "figures", "paper_tables", "plots",
           "metrics", "claims.md", "claims.csv", "claims.rst", "claims")


def dvc_stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO).as_posix()
    return any(relative == dep or relative.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_cover_every_module_its_scripts_import(stage):
    """A stage reruns when code it runs changes: its scripts (named in its rule file) and
    every modality_rl module they import, transitively, are deps."""
    deps = dvc_stages()[stage]["deps"]
    rules = (REPO / "rules" / f"{stage}.smk").read_text()
    scripts = sorted(f"{name}.py" for name in set(re.findall(r'script\("(\w+)"\)', rules)))
    assert scripts, stage
    # Only our package is on the path: third-party imports stay unresolved (and unscanned).
    finder = ModuleFinder(path=[str(REPO / "src")])
    for script in scripts:
        assert f"scripts/{script}" in deps, (stage, script)
        finder.run_script(str(REPO / "scripts" / script))
    modules = [m for name, m in finder.modules.items() if name.split(".")[0] == "modality_rl"]
    assert modules, stage
    missing = [m.__file__ for m in modules if not covered(Path(m.__file__), deps)]
    assert not missing, (stage, missing)
    assert {"Snakefile", "rules/common.smk", f"rules/{stage}.smk",
            f"rules/{stage}_helpers.smk"} <= set(deps)


def test_dvc_yaml_is_what_the_generator_writes():
    """docs/running.md, "Running under DVC": dvc.yaml is generated; a stale one fails here."""
    result = subprocess.run([sys.executable, "-m", "modality_rl.dvc_stages", "--check"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def stale_stages(project: Path) -> list[str]:
    return re.findall(r"^(\w+):", dvc(project, "status"), re.M)


def test_editing_one_stages_code_makes_only_that_stage_stale(tmp_path):
    """With every stage recorded as done (`dvc commit` over empty outputs), an edit to a
    module only the figure stage imports, or to its helpers, makes the figure stage alone
    stale; an edit to the table-gathering script, the metrics stage alone."""
    project = init_git_and_dvc_project(copy_workflow(tmp_path / "project"), "config.yaml")
    for stage in dvc_stages().values():
        for out in stage.get("outs", []) + stage.get("metrics", []):
            path = project / next(iter(out))
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("{}\n")
            else:
                path.mkdir(parents=True, exist_ok=True)
                (path / ".keep").write_text("")
    dvc(project, "commit", "--force")
    assert stale_stages(project) == []
    for edited, stage in [("src/modality_rl/tables/paper.py", "figures"),
                          ("rules/figures_helpers.smk", "figures"),
                          ("scripts/gather_table.py", "metrics")]:
        original = (project / edited).read_text()
        (project / edited).write_text(original + "\n# edited\n")
        assert stale_stages(project) == [stage], edited
        (project / edited).write_text(original)


def test_stage_outs_are_the_results_folders_without_overlap():
    outs = [next(iter(out)) for stage in dvc_stages().values()
            for out in stage.get("outs", []) + stage.get("metrics", [])]
    assert len(outs) == len(set(outs))
    for a in outs:
        assert not any(b != a and b.startswith(a + "/") for b in outs), a
    assert {out.split("/")[1] for out in outs} == set(RESULTS)
    assert all(next(iter(out.values()))["persist"] for stage in dvc_stages().values()
               for out in stage.get("outs", []) + stage.get("metrics", []))


def test_stage_params_name_config_keys_the_files_have():
    for path in ("config.yaml", "presets/quick.yaml"):
        config = yaml.safe_load((REPO / path).read_text())
        for name, stage in dvc_stages().items():
            for entry in stage.get("params", []):
                for key in entry.get(path, []):
                    value = config
                    for part in key.split("."):
                        assert part in value, (name, path, key)
                        value = value[part]


# -- on the quick preset -----------------------------------------------------------------
def dvc(root: Path, *args: str, timeout: int = 1200) -> str:
    result = run_command(root, "dvc", *args, timeout=timeout)
    return result.stdout + result.stderr


def assert_up_to_date(root: Path) -> None:
    assert "Data and pipelines are up to date." in dvc(root, "status")
    result = run_snakemake(root, *QUICK, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_dvc_repro_ran_every_stage_and_a_second_repro_does_nothing(quick_run):
    first = (quick_run / "dvc_repro.log").read_text()
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first, stage
    second = dvc(quick_run, "repro")
    assert "Running stage" not in second
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in second, stage
    assert_up_to_date(quick_run)


@pytest.mark.slow
def test_metrics_are_table_1_and_plots_the_learning_curves(quick_run):
    (workspace,) = json.loads(dvc(quick_run, "metrics", "show", "--json")).values()
    table1 = workspace["data"]["results/metrics/table1.json"]["data"]
    assert set(table1) == {"hopper", "halfcheetah", "walker2d"}
    assert set(table1["hopper"]) == {"gpt2", "igpt", "random"}
    assert table1["hopper"]["gpt2"]["paper"]["seeds"] == 2
    plots = json.loads(dvc(quick_run, "plots", "show", "--json"))["data"]
    for title in ("Hopper", "HalfCheetah", "Walker2d"):
        (plot,) = plots[f"{title} learning curves"]
        points = plot["content"]["data"]["values"]
        assert {p["field"] for p in points} == {"random", "gpt2", "igpt"}, title
        assert {p["epoch"] for p in points} == {"0", "1", "2", "3", "4"}, title


@pytest.mark.slow
def test_snakemake_alone_makes_the_same_files_as_dvc_repro(quick_run, tmp_path):
    """Rebuild a slice across stages with plain Snakemake (Hopper's seed-666 main run of the
    random body, the parameter-change table that reads it, Fig. 3 drawn from that table)
    and compare it with what `dvc repro` made."""
    run = "results/runs/main/random/hopper-medium/seed666"
    slice_ = [run, "results/tables/parameter_change/hopper-medium_seed666.csv",
              "results/figures/fig03.png", "results/figures/fig03.pdf"]
    saved = tmp_path / "by_dvc"
    for path in slice_:
        (saved / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(quick_run / path, saved / path)
    try:
        result = run_snakemake(quick_run, "results/figures/fig03.pdf", *QUICK, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stderr.count("rule train_run:") == 1
        assert filecmp.cmp(quick_run / run / "metrics.csv", saved / run / "metrics.csv",
                           shallow=False)
        assert same_checkpoints(saved / run / "checkpoints", quick_run / run / "checkpoints")
        for path in slice_[1:3]:  # the PDF holds its creation time
            assert filecmp.cmp(quick_run / path, saved / path, shallow=False), path
    finally:  # put dvc's files back (with their times), so the project stays up to date
        for path in slice_:
            target = quick_run / path
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            shutil.move(saved / path, target)
    assert_up_to_date(quick_run)


def planned(project: Path) -> Counter:
    """{rule: jobs} of what a dry run of the quick preset would run (not counting `all`,
    the target that gathers them)."""
    result = run_snakemake(project, *QUICK, "-n", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rules = re.findall(r"^rule (\w+):", result.stdout + result.stderr, re.M)
    return Counter(rule for rule in rules if rule != "all")


@pytest.mark.slow
def test_a_code_edit_reruns_exactly_the_jobs_whose_code_changed(quick_run):
    """contract: code is an input. On the finished quick preset: a comment edit reruns
    nothing; an edit to training code retrains every run and redoes all that reads them;
    the break-it case (the paper tables' number format) reruns the paper-table jobs only,
    and `dvc repro` then writes the new numbers (the figures stage alone)."""
    training = quick_run / "src/modality_rl/training.py"
    paper = quick_run / "src/modality_rl/tables/paper.py"
    originals = {path: path.read_text() for path in (training, paper)}
    try:
        training.write_text(originals[training].replace(
            "def masked_action_mse(", "# an edited comment\ndef masked_action_mse(", 1))
        assert planned(quick_run) == Counter()
        training.write_text(originals[training].replace("DEVICE_DATASET_SHARE = 0.25",
                                                        "DEVICE_DATASET_SHARE = 0.5"))
        rerun = planned(quick_run)
        runs, probes = len(enumerate_runs(load_config("presets/quick.yaml"))), 30
        assert rerun["train_run"] == runs and rerun["probe_run"] == probes, rerun
        for rule in ("synthesize_dataset", "pretrain_backbone", "train_behaviour_policy"):
            assert rule not in rerun, rule
        assert {"cka_tables", "gather_table", "figure", "paper_table", "claims"} <= rerun.keys()
        training.write_text(originals[training])
        table4 = (quick_run / "results/paper_tables/table4.md").read_text()
        paper.write_text(originals[paper].replace(":.1f}", ":.2f}"))
        assert planned(quick_run) == Counter({"paper_table": 3, "configuration_table": 1})
        assert stale_stages(quick_run) == ["figures"]
        output = dvc(quick_run, "repro")
        assert re.findall(r"Running stage '(\w+)'", output) == ["figures"], output[-2000:]
        assert (quick_run / "results/paper_tables/table4.md").read_text() != table4
    finally:
        for path, text in originals.items():
            path.write_text(text)
        dvc(quick_run, "repro")
    assert_up_to_date(quick_run)


def copy_project(source: Path, target: Path) -> Path:
    """A full copy of a DVC project; the read-only cache is shared by hard links."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("cache"))
    shutil.copytree(source / ".dvc" / "cache", target / ".dvc" / "cache",
                    copy_function=lambda a, b: Path(b).hardlink_to(a))
    return target


@pytest.mark.slow
def test_a_training_parameter_reruns_only_the_runs_it_changes(quick_run, tmp_path):
    """The preset in use is a dep of every stage, so DVC reruns them all; Snakemake inside
    them does only the work the change calls for."""
    project = copy_project(quick_run, tmp_path / "project")
    quick = project / "presets" / "quick.yaml"
    text = quick.read_text()
    assert text.count("  no_grad_clip:\n    epochs: 2\n") == 1
    # Three runs get longer.
    quick.write_text(text.replace("  no_grad_clip:\n    epochs: 2\n",
                                  "  no_grad_clip:\n    epochs: 3\n"))
    changed = re.findall(r"^(\w+):", dvc(project, "status"), re.M)
    assert changed == list(STAGES), changed
    output = dvc(project, "repro")
    for stage in STAGES:
        assert f"Running stage '{stage}'" in output, stage
    trained = re.findall(r"rule train_run:\n.*\n\s+output: results/runs/(\w+)/", output)
    assert trained == ["no_grad_clip"] * 3, trained
    for rule in ("synthesize_dataset", "pretrain_backbone", "probe_run"):
        assert f"rule {rule}:" not in output, rule
    metrics = (project / "results/runs/no_grad_clip/igpt/hopper-medium/seed666/metrics.csv")
    assert metrics.read_text().splitlines()[-1].startswith("3,")
    assert_up_to_date(project)
    # The same values with the keys in another order: Snakemake has nothing to redo.
    quick.write_text(yaml.safe_dump(yaml.safe_load(quick.read_text())))
    result = run_snakemake(project, *QUICK, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_editing_the_preset_params_yaml_names_makes_every_stage_stale(quick_run, tmp_path):
    """Any preset, not only presets/quick.yaml (whose keys dvc.yaml's params list)."""
    project = copy_project(quick_run, tmp_path / "project")
    mine = project / "presets" / "mine.yaml"
    mine.write_text((project / "presets" / "quick.yaml").read_text())
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("presets/quick.yaml", "presets/mine.yaml"))
    dvc(project, "commit", "--force")  # adopt the results as they are, made by mine.yaml
    assert "Data and pipelines are up to date." in dvc(project, "status")
    mine.write_text(mine.read_text().replace("    epochs: 4\n", "    epochs: 3\n", 1))
    changed = re.findall(r"^(\w+):", dvc(project, "status"), re.M)
    assert changed == list(STAGES), changed


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_push_delete_pull_then_touch_leaves_snakemake_nothing_to_do(quick_run, tmp_path):
    """docs/running.md, "Running under DVC": a local-directory remote, then the commands a fresh
    clone runs. DVC restores contents, not file times; `snakemake --touch` restores the
    order Snakemake compares, so nothing retrains."""
    dvc(quick_run, "remote", "add", "--local", "--default", "local", str(tmp_path / "remote"))
    curves = tmp_path / "curves"
    try:
        dvc(quick_run, "push")
        before = {p: md5(quick_run / p) for p in ("results/metrics/table1.json",
                                                  "results/runs/main/igpt/walker2d-medium/"
                                                  "seed42/checkpoints/epoch4.pt")}
        shutil.rmtree(quick_run / ".dvc" / "cache")
        # The runs' live curves are not versioned (.dvcignore): kept aside, so that the
        # project is left as it was found.
        for events in list((quick_run / "results" / "runs").glob("**/tensorboard")):
            (curves / events.relative_to(quick_run)).parent.mkdir(parents=True)
            shutil.move(events, curves / events.relative_to(quick_run))
        for name in RESULTS:
            result = quick_run / "results" / name
            if result.is_dir():
                shutil.rmtree(result)
            else:
                result.unlink()
        dvc(quick_run, "pull")
        assert {p: md5(quick_run / p) for p in before} == before
        assert not list((quick_run / "results" / "runs").glob("**/tensorboard"))
        for events in list(curves.glob("results/runs/**/tensorboard")):
            shutil.move(events, quick_run / events.relative_to(curves))
        run_command(quick_run, "snakemake", "--touch", *QUICK, timeout=300)
        assert_up_to_date(quick_run)
    finally:
        dvc(quick_run, "remote", "remove", "--local", "local")


@pytest.mark.slow
def test_downloaded_d4rl_files_are_versioned_by_dvc_and_ignored_by_git(make_d4rl_file,
                                                                      tmp_path):
    downloads = tmp_path / "d4rl"
    downloads.mkdir()
    for dataset, seed in (("medium", 0), ("random", 1), ("expert", 2)):
        shutil.move(make_d4rl_file(f"hopper_{dataset}-v2.hdf5", episode_lengths=(400, 300),
                                   seed=seed), downloads)
    project = copy_workflow(tmp_path / "project")
    (project / "d4rl.yaml").write_text(yaml.safe_dump({
        "envs": ["hopper"],
        "data": {"source": "d4rl", "d4rl": {"local_dir": str(downloads),
                                            "checksums": str(tmp_path / "sums.sha256")}}}))
    init_git_and_dvc_project(project, "d4rl.yaml")
    dvc(project, "repro", "data")
    for dataset in ("medium", "random", "expert"):
        fetched = project / f"results/data/d4rl/hopper_{dataset}-v2.hdf5"
        digest = md5(fetched)
        assert (project / ".dvc/cache/files/md5" / digest[:2] / digest[2:]).exists(), dataset
        run_command(project, "git", "check-ignore", "-q", str(fetched.relative_to(project)))
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert [out["path"] for out in lock["stages"]["data"]["outs"]] == ["results/data"]
    assert "results/data" not in run_command(project, "git", "status", "--porcelain").stdout


WRITER = """
import sys
from modality_rl.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text(sys.argv[2])
"""


def test_hardlinked_cache_keeps_one_copy_and_the_pipelines_writes_never_touch_it(tmp_path):
    """docs/running.md, "Keeping one copy of results/": with `dvc config cache.type
    reflink,hardlink` an output and its cache object are one file, and a job writing a new
    version (every job renames a finished file into place) leaves the cached one intact."""
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "params.yaml").write_text("text: first\n")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"write": {
        "cmd": f"{sys.executable} writer.py results/out.txt ${{text}}",
        "deps": ["writer.py"], "params": ["text"],
        "outs": [{"results/out.txt": {"persist": True}}]}}}))
    run_command(tmp_path, "git", "init", "-q")
    dvc(tmp_path, "init", "-q")
    dvc(tmp_path, "config", "cache.type", "reflink,hardlink")
    dvc(tmp_path, "repro")
    out = tmp_path / "results" / "out.txt"
    first = tmp_path / ".dvc/cache/files/md5" / md5(out)[:2] / md5(out)[2:]
    assert out.stat().st_ino == first.stat().st_ino and out.stat().st_nlink == 2
    (tmp_path / "params.yaml").write_text("text: second\n")
    dvc(tmp_path, "repro")
    assert out.read_text() == "second" and first.read_text() == "first"
    assert md5(first) == first.parent.name + first.name  # the cached object is unchanged
    second = tmp_path / ".dvc/cache/files/md5" / md5(out)[:2] / md5(out)[2:]
    assert out.stat().st_ino == second.stat().st_ino


def test_the_readmes_recipe_repairs_an_output_checked_out_from_a_corrupted_cache(tmp_path):
    """docs/running.md, "When things go wrong": `dvc checkout` copies a corrupted cache object
    without a word; `dvc status` reports the output `not in cache`; `dvc fetch`, removing
    the bad copy and `dvc checkout` restore it from the remote."""
    project = tmp_path / "project"
    (project / "results" / "runs").mkdir(parents=True)
    run_command(project, "git", "init", "-q")
    dvc(project, "init", "-q")
    dvc(project, "remote", "add", "-d", "remote", str(tmp_path / "remote"))
    metrics = project / "results" / "runs" / "metrics.csv"
    metrics.write_text("epoch,return\n0,1.5\n")
    dvc(project, "add", "results/runs")
    dvc(project, "push")
    (cached,) = [p for p in (project / ".dvc" / "cache").rglob("*")
                 if p.is_file() and p.read_bytes() == metrics.read_bytes()]
    cached.chmod(0o644)
    cached.write_text("epoch,return\n0,9.9\n")  # same size, other bytes
    shutil.rmtree(project / "results" / "runs")
    dvc(project, "checkout")
    assert metrics.read_text() == "epoch,return\n0,9.9\n"  # the upstream behaviour
    assert "not in cache" in dvc(project, "status")
    dvc(project, "fetch")
    shutil.rmtree(project / "results" / "runs")
    dvc(project, "checkout")
    assert metrics.read_text() == "epoch,return\n0,1.5\n"
    assert "Data and pipelines are up to date." in dvc(project, "status")
