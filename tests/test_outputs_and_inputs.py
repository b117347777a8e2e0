"""What a job leaves and what it reads: no temporary outlives the next run of its job,
a failed write names the path and the free space, a damaged input names the file and the
fix, and the same data give the same bytes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import REPO, copy_workflow, run_command, window_batch
from modality_rl.checkpoints import load_checkpoint
from modality_rl.inputs import InputError
from modality_rl.io import WriteError, atomic_directory, atomic_path, write_torch
from modality_rl.probes.dump import ProbeActivations, ProbeDump, write_probe_dump


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- no debris ---------------------------------------------------------------------------
def test_the_next_write_of_a_target_removes_what_a_killed_writer_left(tmp_path):
    """kill -9 mid-write leaves `.<name>.tmp-<pid>`; the next write of that target (the
    job's rerun) removes it, and leaves other targets' temporaries alone."""
    target = tmp_path / "cka_within_model.csv"
    stale = tmp_path / ".cka_within_model.csv.tmp-424242"
    stale.write_text("half a table")
    other = tmp_path / ".cka_pre_post.csv.tmp-424242"
    other.write_text("another job's")
    with atomic_path(target) as tmp:
        tmp.write_text("a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    assert not stale.exists() and other.exists()
    (tmp_path / ".checkpoints.tmp-424242").mkdir()
    with atomic_directory(tmp_path / "checkpoints") as tmp:
        (tmp / "epoch1.pt").write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".cka_pre_post.csv.tmp-424242", "checkpoints", "cka_within_model.csv"]


def test_gather_table_killed_mid_write_leaves_nothing_after_its_rerun(tmp_path):
    """The break-it case: the job killed while writing, then run again."""
    part = tmp_path / "part.csv"
    pd.DataFrame({"seed": [1], "value": [0.5]}).to_csv(part, index=False)
    out = tmp_path / "tables" / "cka_within_model.csv"
    spec = json.dumps({"partitions": [str(part)], "out": str(out)})
    out.parent.mkdir()
    (out.parent / f".{out.name}.tmp-99999").write_text("cut short by kill -9")
    run_command(REPO, sys.executable, "scripts/gather_table.py", spec)
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_temporaries_are_ignored_by_dvc_and_git(tmp_path):
    project = copy_workflow(tmp_path / "project")
    run_command(project, "git", "init", "-q")
    for path in ("results/tables/.cka_within_model.csv.tmp-123", "src/.x.py.tmp-1"):
        run_command(project, "git", "check-ignore", "-q", path)
    result = run_command(project, "dvc", "check-ignore", "results/tables/.t.csv.tmp-9")
    assert ".t.csv.tmp-9" in result.stdout


# -- a failed write names the path and the room left ---------------------------------------
WRITER = """
import resource, signal, sys
sys.path.insert(0, {tests!r})
import torch
from helpers import window_batch
from modality_rl.probes.dump import ProbeActivations, write_probe_dump
from modality_rl.io import write_torch
from modality_rl.tables import write_table
import pandas as pd
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death, as a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    {write}
except OSError as err:
    print(type(err).__name__, err)
"""


@pytest.mark.parametrize("write", [
    "write_torch({'w': torch.zeros(100_000)}, sys.argv[1] + '/epoch1.pt')",
    "write_table(pd.DataFrame({'v': range(100_000)}), sys.argv[1] + '/t.csv')",
    "write_probe_dump(sys.argv[1] + '/epoch1.hdf5', window_batch(400, 20), ProbeActivations("
    "n_blocks=1, width=8, layer_names=[]), None, {}, [])",
], ids=["checkpoint", "table", "probe dump"])
def test_a_write_that_fails_names_the_path_and_the_free_space(tmp_path, write):
    code = WRITER.format(write=write, tests=str(REPO / "tests"))
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    message = result.stdout
    assert message.startswith("WriteError writing " + str(tmp_path)), message
    assert "GiB free on" in message and "ulimit -f" in message, message
    assert not list(tmp_path.glob(".*.tmp-*")), "the temporary is removed"
    assert WriteError.__mro__[1] is OSError


# -- damaged inputs are named, with the fix -------------------------------------------------
def small_dump(path: Path, checkpoint: str = "c.pt") -> Path:
    batch = window_batch(4, 3)
    layers = {"0.ln_1": np.ones((4, 3, 8), dtype=np.float32)}
    activations = ProbeActivations(n_blocks=1, width=8, layer_names=["0.ln_1"], layers=layers)
    write_probe_dump(path, batch, activations, None, {"checkpoint": checkpoint}, ["layers"])
    return path


def test_a_truncated_probe_dump_is_named_with_how_to_rebuild_it(tmp_path):
    dump = small_dump(tmp_path / "epoch4.hdf5")
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"the probe dump {dump}: .*truncated.*probe_run"):
        with ProbeDump(dump):
            pass


def test_an_empty_checkpoint_says_it_is_empty(tmp_path):
    checkpoint = tmp_path / "epoch4.pt"
    checkpoint.write_bytes(b"")
    with pytest.raises(InputError, match=r"epoch4.pt: the file is empty \(0 bytes\)\. .*train_run"):
        load_checkpoint(checkpoint)


# -- the same data, the same bytes -----------------------------------------------------------
def test_rebuilt_dumps_checkpoints_and_figures_are_the_same_bytes(tmp_path):
    """Written by different processes (so under different temporary names), twice."""
    code = """
import sys, torch
sys.path.insert(0, {tests!r})
from test_outputs_and_inputs import small_dump
from modality_rl.io import write_torch
from modality_rl.figures.draw import save_figure
import matplotlib.pyplot as plt
out = sys.argv[1]
small_dump(out + "/epoch4.hdf5")
torch.manual_seed(0)
write_torch({{"w": torch.randn(50)}}, out + "/epoch4.pt")
fig = plt.figure()
plt.plot([1, 3, 2])
save_figure(fig, out + "/fig.pdf", out + "/fig.png")
"""
    for copy in ("a", "b"):
        (tmp_path / copy).mkdir()
        subprocess.run([sys.executable, "-c", code.format(tests=str(REPO / "tests")),
                        str(tmp_path / copy)], check=True, timeout=120)
    for name in ("epoch4.hdf5", "epoch4.pt", "fig.pdf", "fig.png"):
        assert digest(tmp_path / "a" / name) == digest(tmp_path / "b" / name), name


def test_write_torch_keeps_no_file_name_inside(tmp_path):
    import zipfile

    import torch

    write_torch({"w": torch.zeros(3)}, tmp_path / "epoch1.pt")
    names = zipfile.ZipFile(tmp_path / "epoch1.pt").namelist()
    assert all(name.startswith("archive/") for name in names), names
