"""Live learning curves (modality_rl.tracking): TensorBoard event files and W&B offline runs
hold the values of metrics.csv, a resumed run shows each step once, tracking changes no
number and reruns nothing, and a W&B that cannot start is named at planning."""

from __future__ import annotations

import csv
import glob
import json
import struct
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from helpers import QUICK, load_config, run_snakemake, tiny_settings
from modality_rl.configuration import ConfigError, check_config
from modality_rl.scores import ReferenceReturns
from modality_rl.spec import from_data
from modality_rl.tracking import Tracker, TrackingConfig, WandbConfig, tensorboard_dir
from modality_rl.training import RunSettings, Trainer

REPO = Path(__file__).resolve().parents[1]
REFS = ReferenceReturns(env="hopper", paper_random=0.0, paper_expert=100.0,
                        d4rl_random=-20.27, d4rl_expert=3234.3)


def scalars(logdir: str | Path) -> dict[str, dict[int, float]]:
    """Every scalar TensorBoard shows for a run: {tag: {step: value}}."""
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: {e.step: e.value for e in events.Scalars(tag)}
            for tag in events.Tags()["scalars"]}


def wandb_history(run_dir: Path) -> list[dict]:
    """The logged rows of a W&B offline run, read from its transaction log (LevelDB's log
    format: 32 KiB blocks of records, each with a 7-byte header, after a 7-byte file
    header) with W&B's own protobuf messages."""
    from wandb.proto import wandb_internal_pb2

    (path,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    data, pos, chunk, rows = Path(path).read_bytes(), 7, b"", []
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = chunk + data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = wandb_internal_pb2.Record.FromString(chunk)
            chunk = b""
            if record.WhichOneof("record_type") == "history":
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
    return rows


def read_metrics(path: Path) -> list[dict[str, float | None]]:
    with open(path) as f:
        return [{k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(f)]


def tiny_run(tmp_path: Path, d4rl_file: Path, tracking: TrackingConfig | None,
             steps_per_epoch: int = 4, grad_clip: float | None = 0.25) -> list[dict]:
    settings = from_data(RunSettings, tiny_settings(epochs=2))
    settings = replace(settings, training=replace(settings.training,
                                                  steps_per_epoch=steps_per_epoch),
                       schedule=replace(settings.schedule, grad_clip=grad_clip))
    trainer = Trainer(settings, d4rl_file, REFS, tmp_path / "work", tracking=tracking)
    return trainer.run(tmp_path / "metrics.csv", tmp_path / "checkpoints")


def tracking(run_dir: Path, wandb: WandbConfig | None = None) -> TrackingConfig:
    return TrackingConfig(tensorboard=True, every_steps=2, wandb=wandb, run_dir=str(run_dir),
                          run_id="main/random/hopper-medium/seed1")


@pytest.mark.parametrize("grad_clip", [0.25, None])
def test_the_curves_hold_metrics_csv_and_change_no_number(make_d4rl_file, tmp_path, monkeypatch,
                                                          grad_clip):
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("HOME", str(tmp_path))  # W&B's caches and settings
    d4rl = make_d4rl_file()
    untracked = tiny_run(tmp_path / "untracked", d4rl, None, grad_clip=grad_clip)
    run_dir = tmp_path / "tracked"
    rows = tiny_run(run_dir, d4rl, tracking(run_dir, WandbConfig(mode="offline", project="t")),
                    grad_clip=grad_clip)
    assert rows == untracked  # the same numbers, tracked or not
    shown = scalars(tensorboard_dir(run_dir))
    history = {row["_step"]: row for row in wandb_history(run_dir)}
    for row in read_metrics(run_dir / "metrics.csv"):
        step = int(row["epoch"]) * 4
        for key, value in row.items():
            if value is None:  # epoch 0's action error: no update yet
                assert f"epoch/{key}" not in history[step]
                continue
            assert shown[f"epoch/{key}"][step] == np.float32(value), key  # TensorBoard: float32
            assert history[step][f"epoch/{key}"] == value, key
    # Every 2nd of the 8 steps: loss, learning rate, gradient norm before and after clipping.
    assert sorted(shown["train/loss"]) == [2, 4, 6, 8]
    for step in (2, 4, 6, 8):
        before, after = shown["train/grad_norm"][step], shown["train/grad_norm_clipped"][step]
        assert history[step]["train/grad_norm"] == pytest.approx(before, rel=1e-6)
        if grad_clip is None:
            assert after == before
        else:
            assert after == pytest.approx(min(before, grad_clip), rel=1e-5)
    assert shown["train/learning_rate"][8] > shown["train/learning_rate"][2]  # warming up


def test_a_resumed_run_shows_each_step_once(tmp_path):
    """A run killed after saving epoch 1 resumes at epoch 2: what the killed run logged after
    epoch 1's evaluation (here steps 5 and 6 of a 4-step epoch) is purged."""
    cfg = replace(tracking(tmp_path), every_steps=1)
    with Tracker(cfg, {}, steps_per_epoch=4, first_epoch=0) as killed:
        for epoch in (0, 1):
            for step in range(epoch * 4 - 3, epoch * 4 + 1) if epoch else ():
                killed.step(step, loss=1.0, learning_rate=0.1, grad_norm=1.0,
                            clipped_grad_norm=1.0)
            killed.epoch(epoch, {"epoch": epoch, "x": 10.0 + epoch})
        for step in (5, 6):
            killed.step(step, loss=99.0, learning_rate=0.1, grad_norm=1.0, clipped_grad_norm=1.0)
    with Tracker(cfg, {}, steps_per_epoch=4, first_epoch=2) as resumed:
        for step in (5, 6, 7, 8):
            resumed.step(step, loss=2.0, learning_rate=0.1, grad_norm=1.0, clipped_grad_norm=1.0)
        resumed.epoch(2, {"epoch": 2, "x": 12.0})
    shown = scalars(tensorboard_dir(tmp_path))
    assert shown["train/loss"] == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 6: 2.0, 7: 2.0,
                                   8: 2.0}
    assert shown["epoch/x"] == {0: 10.0, 4: 11.0, 8: 12.0}
    # A fresh run of the same path starts a clean curve.
    with Tracker(cfg, {}, steps_per_epoch=4, first_epoch=0) as fresh:
        fresh.epoch(0, {"epoch": 0, "x": 20.0})
    assert scalars(tensorboard_dir(tmp_path)) == {"epoch/epoch": {0: 0.0}, "epoch/x": {0: 20.0}}


def test_wandb_without_its_package_or_login_is_named_at_planning(monkeypatch, tmp_path):
    config = load_config()
    config["tracking"]["wandb"] = {"mode": "offline", "project": "modality-rl"}
    check_config(config, REPO / "schemas/config.schema.yaml")  # installed: offline starts
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"tracking\.wandb .*pip install '\.\[wandb\]'"):
        check_config(config, REPO / "schemas/config.schema.yaml")
    monkeypatch.delitem(sys.modules, "wandb")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc, no W&B settings
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    config["tracking"]["wandb"]["mode"] = "online"
    with pytest.raises(ConfigError, match=r"tracking\.wandb\.mode is online.*wandb login"):
        check_config(config, REPO / "schemas/config.schema.yaml")
    config["tracking"]["wandb"] = {"mode": "sometimes", "project": "modality-rl"}
    with pytest.raises(ConfigError, match=r"tracking\.wandb\.mode"):
        check_config(config, REPO / "schemas/config.schema.yaml")


@pytest.mark.slow
def test_every_quick_run_shows_its_metrics_live_and_tracking_reruns_nothing(quick_run,
                                                                              tmp_path):
    runs = sorted(quick_run.glob("results/runs/*/*/*/seed*/metrics.csv"))
    assert len(runs) == 51
    steps_per_epoch = load_config("presets/quick.yaml")["training"]["steps_per_epoch"]
    for metrics in runs:
        shown = scalars(tensorboard_dir(metrics.parent))
        for row in read_metrics(metrics):
            step = int(row["epoch"]) * steps_per_epoch
            assert all(shown[f"epoch/{key}"][step] == np.float32(value)
                       for key, value in row.items() if value is not None), metrics
        assert sorted(shown["train/loss"])[:3] == [5, 10, 15]  # tracking.every_steps: 5
    other = tmp_path / "tracking.yaml"
    other.write_text("tracking: {tensorboard: false, every_steps: 7, wandb: null}\n")
    result = run_snakemake(quick_run, *QUICK, str(other), "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
