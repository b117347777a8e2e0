"""contract: one run, one trainer, one state. A killed run resumes to the same numbers,
but never under other settings or with its checkpoints gone; a second trainer of a run
stops at once; what a killed trainer left behind is cleaned up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import REPO, d4rl_arrays, tiny_settings
from modality_rl.data.schema import write_d4rl_hdf5
from modality_rl.checkpoints import load_checkpoint
from modality_rl.scores import ReferenceReturns, save_reference_returns

pytestmark = pytest.mark.slow
EPOCHS = 4


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("inputs")
    dataset, refs = root / "hopper_medium-v2.hdf5", root / "refs.json"
    write_d4rl_hdf5(d4rl_arrays("hopper", [60, 80, 40]), dataset, {"env": "hopper"})
    save_reference_returns(ReferenceReturns(env="hopper", paper_random=0.0, paper_expert=100.0,
                                            d4rl_random=-20.27, d4rl_expert=3234.3), refs)
    return dataset, refs


def command(run_dir: Path, inputs: tuple[Path, Path], learning_rate: float = 1e-3) -> list[str]:
    """scripts/train_run.py with the run's job spec, as the rule runs it."""
    dataset, refs = inputs
    spec = {"settings": tiny_settings(EPOCHS, learning_rate), "dataset": str(dataset),
            "reference_returns": str(refs), "work_dir": str(run_dir / "work"),
            "metrics": str(run_dir / "metrics.csv"), "checkpoints": str(run_dir / "checkpoints")}
    return [sys.executable, str(REPO / "scripts" / "train_run.py"), json.dumps(spec),
            "--device", "cpu"]


def train(run_dir: Path, inputs, learning_rate: float = 1e-3) -> subprocess.CompletedProcess:
    result = subprocess.run(command(run_dir, inputs, learning_rate), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def straight(inputs, tmp_path_factory):
    """Uninterrupted runs, by learning rate."""
    runs = {}
    for learning_rate in (1e-3, 1e-2):
        runs[learning_rate] = tmp_path_factory.mktemp(f"straight{learning_rate:g}")
        train(runs[learning_rate], inputs, learning_rate)
    return runs


def kill_after_epoch(run_dir: Path, inputs, epoch: int) -> None:
    """Start a run and SIGKILL it once its state holds `epoch`."""
    process = subprocess.Popen(command(run_dir, inputs), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    state = run_dir / "work" / "state.pt"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if state.exists() and torch.load(state, weights_only=False)["epoch"] >= epoch:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (run_dir / "metrics.csv").exists() and not (run_dir / "checkpoints").exists()


def assert_same_run(a: Path, b: Path) -> None:
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
    names = sorted(p.name for p in (a / "checkpoints").iterdir())
    assert names == sorted(p.name for p in (b / "checkpoints").iterdir())
    for name in names:
        left, right = (load_checkpoint(d / "checkpoints" / name) for d in (a, b))
        for key in left:
            torch.testing.assert_close(right[key], left[key], rtol=0, atol=0, msg=key)


def test_killed_run_resumes_to_the_same_metrics_and_weights(inputs, straight, tmp_path):
    kill_after_epoch(tmp_path, inputs, 1)
    state = torch.load(tmp_path / "work" / "state.pt", weights_only=False)
    assert "cuda_rng" in state  # every GPU's generator (None without CUDA) is saved
    result = train(tmp_path, inputs)
    assert "resuming after epoch" in result.stderr
    assert_same_run(straight[1e-3], tmp_path)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "epoch0.json", "epoch1.pt", "epoch4.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoints", "metrics.csv"]


def test_a_state_of_other_settings_is_set_aside_not_resumed(inputs, straight, tmp_path):
    """Interrupted at lr 1e-3, rerun at lr 1e-2: the clean 1e-2 run's numbers."""
    kill_after_epoch(tmp_path, inputs, 1)
    result = train(tmp_path, inputs, learning_rate=1e-2)
    assert "not resuming" in result.stderr and "other settings or code" in result.stderr
    assert "resuming after" not in result.stderr
    assert_same_run(straight[1e-2], tmp_path)
    assert (tmp_path / "metrics.csv").read_text() != (straight[1e-3] / "metrics.csv").read_text()


def test_a_state_whose_checkpoints_are_gone_starts_fresh(inputs, straight, tmp_path):
    kill_after_epoch(tmp_path, inputs, 1)
    (tmp_path / "work" / "epoch1.pt").unlink()
    result = train(tmp_path, inputs)
    assert "checkpoints ['epoch1.pt'] are missing" in result.stderr
    assert_same_run(straight[1e-3], tmp_path)


def test_an_unreadable_state_starts_fresh(inputs, straight, tmp_path):
    """A zero-byte state (a disk that filled up) is set aside, not a bare EOFError."""
    kill_after_epoch(tmp_path, inputs, 1)
    (tmp_path / "work" / "state.pt").write_bytes(b"")
    result = train(tmp_path, inputs)
    assert "it cannot be read (EOFError" in result.stderr
    assert_same_run(straight[1e-3], tmp_path)


def test_a_second_trainer_of_a_run_stops_at_once_and_the_first_finishes(inputs, straight,
                                                                          tmp_path):
    first = subprocess.Popen(command(tmp_path, inputs), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        state = tmp_path / "work" / "state.pt"
        deadline = time.time() + 300
        while not state.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        # Paused, the first trainer holds its run for as long as the second needs to start.
        first.send_signal(signal.SIGSTOP)
        assert first.poll() is None, "the first trainer ended before the second started"
        second = subprocess.run(command(tmp_path, inputs), capture_output=True, text=True,
                                timeout=600)
        assert second.returncode != 0
        assert f"is held by PID {first.pid}" in second.stderr, second.stderr[-2000:]
        first.send_signal(signal.SIGCONT)
        assert first.wait(timeout=600) == 0, first.stderr.read()[-3000:]
    finally:
        first.kill()
    assert_same_run(straight[1e-3], tmp_path)


def test_what_a_killed_trainer_left_behind_is_removed(inputs, straight, tmp_path):
    kill_after_epoch(tmp_path, inputs, 0)
    leftovers = [tmp_path / ".checkpoints.tmp-99999", tmp_path / ".metrics.csv.tmp-99999",
                 tmp_path / "work" / ".state.pt.tmp-99999"]
    leftovers[0].mkdir()
    (leftovers[0] / "epoch1.pt").write_bytes(b"half")
    for path in leftovers[1:]:
        path.write_bytes(b"half")
    result = train(tmp_path, inputs)
    assert all(not path.exists() for path in leftovers)
    assert result.stderr.count("left behind by a trainer that was stopped") == 3
    assert_same_run(straight[1e-3], tmp_path)
