"""Training runs: the run list, the loss, resuming after SIGKILL, and GPU slots."""

import json
from dataclasses import replace
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch

from helpers import REPO, load_config
from modality_rl.devices import acquire_gpu_slot
from modality_rl.runs import Run, enumerate_runs, run_settings
from modality_rl.scores import ReferenceReturns, save_reference_returns
from modality_rl.spec import from_data
from modality_rl import training
from modality_rl.training import RunSettings, Trainer, make_optimizer, masked_action_mse


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

    def settings(*key) -> RunSettings:
        return from_data(RunSettings, run_settings(config, runs[key], locations))

    random = settings("main", "random", "hopper")
    igpt = settings("no_grad_clip", "igpt", "walker2d")
    swap = settings("block_swap", "gpt2_block0", "halfcheetah")
    assert random.training.learning_rate == 1e-4 and random.model.pretrained == {}
    assert igpt.schedule.grad_clip is None and igpt.schedule.epochs == 10
    assert igpt.schedule.checkpoint_epochs == (0, 1, 4, 10)
    assert swap.schedule.context_length == 1 and swap.schedule.epochs == 5
    assert swap.model.pretrained["gpt2"].name_or_path == "gpt2"
    assert random.evaluation.targets == (3600.0, 1800.0)
    assert swap.evaluation.targets == (12000.0, 6000.0)


def test_adam_eps_follows_whether_the_body_was_pretrained():
    """The released code: eps 1e-8 for a random body (block swap included), 1e-6 otherwise."""
    training = from_data(RunSettings, run_settings(
        load_config(), Run(experiment="main", model="random", env="hopper", dataset="medium",
                           seed=1), {})).training
    model = torch.nn.Linear(2, 2)
    eps = {name: make_optimizer(model, training, name)[0].param_groups[0]["eps"]
           for name in ("random", "gpt2_block3", "gpt2", "igpt")}
    assert eps == {"random": 1e-8, "gpt2_block3": 1e-8, "gpt2": 1e-6, "igpt": 1e-6}


def test_quick_preset_runs_every_experiment():
    runs = enumerate_runs(load_config("presets/quick.yaml"))
    assert Counter(r.experiment for r in runs) == {"main": 18, "no_context": 12,
                                                   "block_swap": 18, "no_grad_clip": 3}


def test_masked_action_mse_ignores_padding():
    predicted = torch.tensor([[[1.0], [2.0], [3.0]]])
    target = torch.tensor([[[9.0], [2.0], [1.0]]])
    mask = torch.tensor([[0.0, 1.0, 1.0]])
    assert masked_action_mse(predicted, target, mask).item() == pytest.approx(2.0)


def tiny_settings(epochs: int) -> dict:
    """runs.run_settings of a tiny random-body run on hopper, from config.yaml's settings."""
    config = load_config()
    config["training"].update(steps_per_epoch=15, batch_size=8, learning_rate=1e-3,
                              warmup_steps=5)
    config["backbones"]["random"].update(n_layer=2, n_embd=32)
    config["experiments"]["main"].update(context_length=5, epochs=epochs)
    config["checkpoint_epochs"] = [0, 1, epochs]
    config["evaluation"].update(episodes=2, max_episode_steps=20)
    run = Run(experiment="main", model="random", env="hopper", dataset="medium", seed=3)
    return run_settings(config, run, {})


def test_action_error_is_the_last_batch_with_the_epoch_mean_beside(make_d4rl_file, tmp_path,
                                                                     monkeypatch):
    """The released trainer logged the last batch's loss; the mean is kept beside it."""
    settings = from_data(RunSettings, tiny_settings(epochs=1))
    settings = replace(settings, training=replace(settings.training, steps_per_epoch=2))
    refs = ReferenceReturns(env="hopper", paper_random=0.0, paper_expert=100.0,
                            d4rl_random=-20.27, d4rl_expert=3234.3)
    trainer = Trainer(settings, make_d4rl_file(), refs, tmp_path / "work")
    losses = []

    def recorded(*args):
        loss = masked_action_mse(*args)
        losses.append(loss.item())
        return loss

    monkeypatch.setattr(training, "masked_action_mse", recorded)
    error = trainer.train_epoch(1)
    assert len(losses) == 2 and losses[0] != losses[1]
    assert error.last_batch == losses[1]
    assert error.epoch_mean == pytest.approx((losses[0] + losses[1]) / 2, rel=1e-12)
    with trainer.evaluator() as evaluator:
        row = trainer.evaluate(evaluator, 1, error)
    assert (row["action_error"], row["action_error_epoch_mean"]) == (
        error.last_batch, error.epoch_mean)


def train_spec(run_dir: Path, dataset: Path, refs: Path, epochs: int) -> str:
    """The train_run job of a tiny random-body run."""
    return json.dumps({"settings": tiny_settings(epochs), "dataset": str(dataset),
                       "reference_returns": str(refs), "work_dir": str(run_dir / "work"),
                       "metrics": str(run_dir / "metrics.csv"),
                       "checkpoints": str(run_dir / "checkpoints")})


def train_command(run_dir: Path, dataset: Path, refs: Path, epochs: int) -> list[str]:
    return [sys.executable, str(REPO / "scripts" / "train_run.py"),
            train_spec(run_dir, dataset, refs, epochs), "--device", "cpu"]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_metrics_and_weights(make_d4rl_file, tmp_path):
    dataset = make_d4rl_file(episode_lengths=(60, 80, 40))
    refs = tmp_path / "refs.json"
    save_reference_returns(ReferenceReturns(env="hopper", paper_random=0.0, paper_expert=100.0,
                                            d4rl_random=-20.27, d4rl_expert=3234.3), refs)
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
