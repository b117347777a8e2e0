"""Training runs: the run list, the loss, resuming after SIGKILL, and GPU slots."""

import json
import os
from dataclasses import replace
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from helpers import load_config, tiny_settings
from modality_rl.analyses import checkpoint_epochs
from modality_rl.devices import acquire_gpu_slot
from modality_rl.runs import Run, enumerate_runs, run_settings
from modality_rl.scores import ReferenceReturns
from modality_rl.spec import from_data, to_data
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
        run = runs[key]
        return from_data(RunSettings, run_settings(config, run, locations,
                                                   checkpoint_epochs(config, run)))

    random = settings("main", "random", "hopper")
    igpt = settings("no_grad_clip", "igpt", "walker2d")
    swap = settings("block_swap", "gpt2_block0", "halfcheetah")
    assert random.training.learning_rate == 1e-4 and random.model.pretrained == {}
    assert igpt.schedule.grad_clip is None and igpt.schedule.epochs == 10
    # Kept: what some analysis reads, and the last epoch where the experiment asks for it.
    assert random.schedule.checkpoint_epochs == (1, 40)  # CKA, MI, gradients, changes
    no_context = settings("no_context", "gpt2", "hopper")
    assert no_context.schedule.checkpoint_epochs == (1, 4, 10, 40)  # attention distance
    assert igpt.schedule.checkpoint_epochs == () and swap.schedule.checkpoint_epochs == ()
    assert swap.schedule.context_length == 1 and swap.schedule.epochs == 5
    assert swap.model.pretrained["gpt2"].name_or_path == "gpt2"
    assert random.evaluation.targets == (3600.0, 1800.0)
    assert swap.evaluation.targets == (12000.0, 6000.0)


def test_adam_eps_follows_whether_the_body_was_pretrained():
    """The released code: eps 1e-8 for a random body (block swap included), 1e-6 otherwise."""
    config, model = load_config(), torch.nn.Linear(2, 2)
    locations = {w: {"name_or_path": w} for w in ("gpt2", "igpt")}
    eps = {}
    for name in ("random", "gpt2_block3", "gpt2", "igpt"):
        experiment = "block_swap" if "block" in name else "main"
        run = Run(experiment=experiment, model=name, env="hopper", dataset="medium", seed=1)
        settings = from_data(RunSettings, run_settings(config, run, locations, []))
        optimizer, _ = make_optimizer(model, settings.training, settings.model.is_pretrained)
        eps[name] = optimizer.param_groups[0]["eps"]
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


@pytest.mark.slow
def test_compiled_training_steps_share_the_models_weights(make_d4rl_file, tmp_path):
    """training.compile: the training forward is compiled (torch.compile, here on CPU); it
    computes the model's function and its updates land in the model that is saved."""
    settings = from_data(RunSettings, tiny_settings(epochs=1))
    settings = replace(settings, training=replace(settings.training, compile=True,
                                                  steps_per_epoch=2))
    refs = ReferenceReturns(env="hopper", paper_random=0.0, paper_expert=100.0,
                            d4rl_random=-20.27, d4rl_expert=3234.3)
    trainer = Trainer(settings, make_d4rl_file(), refs, tmp_path / "work")
    assert isinstance(trainer.forward, torch._dynamo.eval_frame.OptimizedModule)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    assert torch.isfinite(torch.tensor(trainer.train_epoch(1).epoch_mean))
    after = trainer.model.state_dict()
    assert not torch.equal(after["embed_state.weight"], before["embed_state.weight"])
    trainer.model.eval()
    batch = trainer.batch()
    inputs = (batch["states"], batch["actions"], batch["returns_to_go"], batch["timesteps"])
    torch.testing.assert_close(trainer.forward(*inputs, attention_mask=batch["mask"]),
                               trainer.model(*inputs, attention_mask=batch["mask"]),
                               rtol=1e-5, atol=1e-5)


REBUILD = """
import sys, torch
from modality_rl.checkpoints import load_checkpoint
torch.save(load_checkpoint(sys.argv[1]), sys.argv[2])
"""


@pytest.mark.parametrize("model", ["random", "gpt2"])
def test_the_untrained_model_is_rebuilt_bit_for_bit_from_its_recipe(make_d4rl_file, tmp_path,
                                                                    model):
    """Epoch 0 is kept as the run's settings: rebuilt in another process (as the probe and
    parameter-change jobs do), its weights equal the trainer's before its first update."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(7)
    GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=64, n_embd=32, n_layer=2,
                               n_head=4)).save_pretrained(tmp_path / "gpt2")
    data = tiny_settings(epochs=1)
    data["model"] |= {"name": model, "pretrained": {} if model == "random" else {
        "gpt2": {"name_or_path": str(tmp_path / "gpt2"), "revision": None}}}
    settings = from_data(RunSettings, data)
    refs = ReferenceReturns(env="hopper", paper_random=0.0, paper_expert=100.0,
                            d4rl_random=-20.27, d4rl_expert=3234.3)
    trainer = Trainer(settings, make_d4rl_file(), refs, tmp_path / "work")
    recipe = tmp_path / "epoch0.json"
    recipe.write_text(json.dumps(to_data(settings)))
    subprocess.run([sys.executable, "-c", REBUILD, str(recipe), str(tmp_path / "rebuilt.pt")],
                   check=True, capture_output=True)
    rebuilt = torch.load(tmp_path / "rebuilt.pt")
    trained_from = trainer.model.state_dict()
    assert rebuilt.keys() == trained_from.keys()
    for name, value in trained_from.items():
        torch.testing.assert_close(rebuilt[name], value, rtol=0, atol=0, msg=name)


HOLD_SLOT = """
import sys, time
from pathlib import Path
from modality_rl.devices import acquire_gpu_slot, device_identities
print(acquire_gpu_slot(device_identities(int(sys.argv[1])), int(sys.argv[2]), Path(sys.argv[3])),
      flush=True)
time.sleep(60)
"""


def hold_slot(tmp_path: Path, gpus: int, runs_per_gpu: int, visible: str | None = None
              ) -> subprocess.Popen:
    """A job holding a GPU slot in a process of its own, as a training job does; it prints
    the index of its GPU. `visible` is its CUDA_VISIBLE_DEVICES."""
    env = {key: value for key, value in os.environ.items() if key != "CUDA_VISIBLE_DEVICES"}
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    return subprocess.Popen([sys.executable, "-c", HOLD_SLOT, str(gpus), str(runs_per_gpu),
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def started(job: subprocess.Popen) -> str:
    line = job.stdout.readline().strip()
    assert line, job.stderr.read()
    return line


def test_concurrent_jobs_get_distinct_gpu_slots(tmp_path):
    """Jobs on a 2-GPU machine: two get GPUs 0 and 1, the third is refused; with two runs
    per GPU the third shares GPU 0 and a fifth is refused."""
    one = [hold_slot(tmp_path / "one", 2, 1, "0,1") for _ in range(2)]
    two = [hold_slot(tmp_path / "two", 2, 2, "0,1") for _ in range(4)]
    try:
        assert sorted(started(job) for job in one) == ["0", "1"]
        with pytest.raises(RuntimeError, match="all 2 GPU"):
            acquire_gpu_slot(["0", "1"], 1, tmp_path / "one")
        assert sorted(started(job) for job in two) == ["0", "0", "1", "1"]
        with pytest.raises(RuntimeError, match="all 2 GPU"):
            acquire_gpu_slot(["0", "1"], 2, tmp_path / "two")
    finally:
        for job in one + two:
            job.kill()
            job.wait()
    # A slot is free again once its process is gone.
    assert acquire_gpu_slot(["0", "1"], 1, tmp_path / "one") == 0


def test_jobs_a_scheduler_isolated_on_different_gpus_both_start(tmp_path):
    """Under Slurm each job sees its own GPU as index 0; the lock follows the physical
    device (its CUDA_VISIBLE_DEVICES entry), so two such jobs never collide, while two
    jobs on the same physical GPU still do."""
    jobs = [hold_slot(tmp_path, 1, 1, visible) for visible in ("2", "5")]
    try:
        assert [started(job) for job in jobs] == ["0", "0"]  # both run, each on its "GPU 0"
        same = hold_slot(tmp_path, 1, 1, "5")
        assert same.wait(timeout=60) != 0 and "are taken" in same.stderr.read()
    finally:
        for job in jobs:
            job.kill()
            job.wait()
