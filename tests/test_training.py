"""Training runs: the run list, the loss, resuming after SIGKILL, and GPU slots."""

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from snakemake.utils import update_config

from modality_rl.devices import acquire_gpu_slot
from modality_rl.runs import enumerate_runs, run_settings
from modality_rl.scores import ReferenceReturns, save_reference_returns
from modality_rl.training import masked_action_mse

REPO = Path(__file__).resolve().parents[1]


def load_config(*presets):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for preset in presets:
        update_config(config, yaml.safe_load((REPO / preset).read_text()))
    return config


def test_paper_config_has_the_105_runs_of_the_paper():
    runs = enumerate_runs(load_config())
    assert Counter(r.experiment for r in runs) == {"main": 18, "no_context": 12,
                                                   "block_swap": 72, "no_grad_clip": 3}
    assert {r.model for r in runs if r.experiment == "block_swap"} == {
        f"gpt2_block{b}" for b in range(12)}
    assert {r.seed for r in runs if r.experiment == "no_grad_clip"} == {666}
    assert len(set(runs)) == len({r.directory for r in runs}) == 105


def test_run_settings_follow_the_paper():
    config = load_config()
    locations = {"gpt2": {"name_or_path": "gpt2", "revision": "r"},
                 "igpt": {"name_or_path": "openai/imagegpt-small", "revision": "main"}}
    runs = {(r.experiment, r.model, r.env): r for r in enumerate_runs(config) if r.seed == 666}
    random = run_settings(config, runs["main", "random", "hopper"], locations)
    igpt = run_settings(config, runs["no_grad_clip", "igpt", "walker2d"], locations)
    swap = run_settings(config, runs["block_swap", "gpt2_block0", "halfcheetah"], locations)
    assert random["train"]["adam_eps"] == 1e-8 and igpt["train"]["adam_eps"] == 1e-6
    assert random["model"]["pretrained"] == {}
    assert igpt["train"]["grad_clip"] is None and igpt["train"]["epochs"] == 10
    assert igpt["train"]["checkpoint_epochs"] == [0, 1, 4, 10]
    assert swap["train"]["context_length"] == 1 and swap["train"]["epochs"] == 5
    assert swap["model"]["pretrained"] == {"gpt2": locations["gpt2"]}


def test_quick_preset_runs_every_experiment():
    runs = enumerate_runs(load_config("presets/quick.yaml"))
    assert Counter(r.experiment for r in runs) == {"main": 18, "no_context": 12,
                                                   "block_swap": 18, "no_grad_clip": 3}


def test_masked_action_mse_ignores_padding():
    predicted = torch.tensor([[[1.0], [2.0], [3.0]]])
    target = torch.tensor([[[9.0], [2.0], [1.0]]])
    mask = torch.tensor([[0.0, 1.0, 1.0]])
    assert masked_action_mse(predicted, target, mask).item() == pytest.approx(2.0)


def settings(epochs: int) -> dict:
    return {
        "train": {"env": "hopper", "seed": 3, "context_length": 5, "epochs": epochs,
                  "steps_per_epoch": 15, "batch_size": 8, "learning_rate": 1e-3,
                  "weight_decay": 1e-4, "warmup_steps": 5, "adam_eps": 1e-8, "grad_clip": 0.25,
                  "checkpoint_epochs": [0, 1, epochs], "eval_targets": [3600, 1800],
                  "eval_episodes": 2, "max_episode_steps": 1000, "eval_max_episode_steps": 20,
                  "returns_scale": 1000.0},
        "model": {"name": "random", "random_body": {"n_layer": 2, "n_embd": 32, "n_head": 1,
                                                    "activation": "relu"},
                  "dropout": {"embedding": 0.1, "attention": 0.1, "residual": 0.2},
                  "pretrained": {}},
    }


def train_command(run_dir: Path, dataset: Path, refs: Path, epochs: int) -> list[str]:
    return [sys.executable, str(REPO / "scripts" / "train_run.py"),
            "--settings", json.dumps(settings(epochs)), "--dataset", str(dataset),
            "--reference-returns", str(refs), "--work-dir", str(run_dir / "work"),
            "--metrics", str(run_dir / "metrics.csv"),
            "--checkpoints", str(run_dir / "checkpoints"), "--device", "cpu"]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_metrics_and_weights(make_d4rl_file, tmp_path):
    dataset = make_d4rl_file(episode_lengths=(60, 80, 40))
    refs = tmp_path / "refs.json"
    save_reference_returns(ReferenceReturns("hopper", 0.0, 100.0, -20.27, 3234.3), refs)
    epochs = 4
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    subprocess.run(train_command(straight, dataset, refs, epochs), check=True,
                   capture_output=True)

    process = subprocess.Popen(train_command(resumed, dataset, refs, epochs),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = resumed / "work" / "state.pt"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if state.exists() and torch.load(state, weights_only=False)["epoch"] >= 1:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (resumed / "metrics.csv").exists() and not (resumed / "checkpoints").exists()

    subprocess.run(train_command(resumed, dataset, refs, epochs), check=True, capture_output=True)
    assert (resumed / "metrics.csv").read_text() == (straight / "metrics.csv").read_text()
    for epoch in (0, 1, epochs):
        a = torch.load(straight / "checkpoints" / f"epoch{epoch}.pt")
        b = torch.load(resumed / "checkpoints" / f"epoch{epoch}.pt")
        for name in a:
            torch.testing.assert_close(b[name], a[name], rtol=0, atol=0, msg=name)
    assert not (resumed / "work").exists()
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == [
        "epoch0.pt", "epoch1.pt", "epoch4.pt"]


def test_concurrent_jobs_get_distinct_gpu_slots(tmp_path):
    """Three jobs on a simulated 2-GPU machine: two get slots 0 and 1, the third is refused."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from modality_rl.devices import acquire_gpu_slot; "
         f"print(acquire_gpu_slot(2, Path({str(tmp_path)!r})), flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "0"
        assert acquire_gpu_slot(2, tmp_path) == 1
        third = subprocess.run(
            [sys.executable, "-c", "from pathlib import Path; "
             "from modality_rl.devices import acquire_gpu_slot; "
             f"acquire_gpu_slot(2, Path({str(tmp_path)!r}))"], capture_output=True, text=True)
        assert third.returncode != 0 and "all 2 GPU slots" in third.stderr
    finally:
        holder.kill()
        holder.wait()
    # The holder's slot is free again once its process is gone.
    assert acquire_gpu_slot(1, tmp_path) == 0
