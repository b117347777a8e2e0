"""Metric tables built from real probe dumps and checkpoints of tiny models."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from helpers import REPO, tiny_decision_transformer, window_batch
from modality_rl.analyses import analysis_epochs, partitions, resolve_epoch
from modality_rl.checkpoints import load_checkpoint
from modality_rl.inputs import InputError, open_hdf5, read_table
from modality_rl.metrics.mine import MineConfig, mine_estimates
from modality_rl.metrics.null import null_permutation
from modality_rl.probes.activations import ACTIVATION_SECTIONS, record_activations
from modality_rl.probes.dump import write_probe_dump
from modality_rl.probes.gradients import GradientConfig, gradient_probe
from modality_rl.tables import concatenate_tables
from modality_rl.tables.attention import attention_tables
from modality_rl.tables.cka import CkaSettings, cka_tables
from modality_rl.tables.gradients import gradient_tables
from modality_rl.tables.learning_curves import learning_curve_table, read_curves
from modality_rl.tables.mutual_information import data_table, hidden_tables
from modality_rl.tables.parameter_change import parameter_change_tables

COORDINATES = {"experiment": "main", "env": "hopper", "dataset": "medium", "seed": 666}
# Two 2-block models and one twice as deep, like random/gpt2 vs iGPT.
MODELS = {"random": 2, "gpt2": 2, "igpt": 4}


def perturbed(model, scale: float):
    with torch.no_grad():
        for p in model.transformer.h.parameters():
            p.add_(scale * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    """{model: {epoch: dump}} at epochs 0 and 1 (epoch 1: perturbed weights), and the
    matching checkpoints. The gpt2 model does not change between the epochs."""
    root = tmp_path_factory.mktemp("dumps")
    batch = window_batch(size=12, context_length=4)
    gradients_cfg = GradientConfig(max_norm=0.25, norm_samples=12, cosine_samples=6,
                                   chunk_size=6, seed=0)
    dumps, checkpoints = {}, {}
    for index, (name, n_layer) in enumerate(MODELS.items()):
        model = tiny_decision_transformer(n_layer=n_layer, n_embd=8, seed=index)
        for epoch in (0, 1):
            if epoch == 1 and name != "gpt2":
                perturbed(model, 0.5)
            path = root / f"{name}_epoch{epoch}.hdf5"
            gradients = gradient_probe(model, batch, gradients_cfg) if epoch == 1 else None
            sections = [*ACTIVATION_SECTIONS, *(["gradients"] if gradients else [])]
            write_probe_dump(path, batch, record_activations(model, batch), gradients, {},
                             sections)
            checkpoint = root / f"{name}_epoch{epoch}.pt"
            torch.save(model.state_dict(), checkpoint)
            dumps.setdefault(name, {})[epoch] = str(path)
            checkpoints.setdefault(name, {})[epoch] = str(checkpoint)
    return dumps, checkpoints


def test_cka_tables(dumps):
    tables = cka_tables(dumps[0], COORDINATES, [0, 1],
                        CkaSettings(debiased=True, thresholds=(0.99,), seed=0))
    pre_post = tables["cka_pre_post"]
    assert len(pre_post) == 3 * (18 + 18 + 36)  # 3 tokens x 9 layers per block
    assert set(pre_post["token"]) == {"return_to_go", "state", "action"}
    assert (pre_post[["env", "seed", "experiment"]] == ["hopper", 666, "main"]).all().all()
    unchanged = pre_post[pre_post["model"] == "gpt2"]
    assert np.allclose(unchanged["cka"], 1.0)
    # The floor: the same layers against permuted samples are unrelated (12 samples: noisy).
    assert unchanged["cka_null"].abs().max() < 0.6 and unchanged["cka_null"].notna().all()
    assert pre_post[pre_post["model"] == "random"]["cka"].mean() < 0.99
    igpt = pre_post[pre_post["model"] == "igpt"]
    assert igpt["normalised_layer"].tolist() == [i // 2 for i in range(36)] * 3
    within = tables["cka_within_model"]
    assert len(within) == 3 * 2 * (18 ** 2 + 18 ** 2 + 36 ** 2)
    diagonal = within[within["layer_index_a"] == within["layer_index_b"]]
    assert np.allclose(diagonal["cka"], 1.0) and diagonal["cka_null"].abs().max() < 0.6
    between = tables["cka_between_models"]
    assert list(dict.fromkeys(zip(between["model_a"], between["model_b"]))) == \
        [("random", "gpt2"), ("random", "igpt"), ("gpt2", "igpt")]
    assert len(between) == 3 * (18 * 18 + 18 * 36 + 18 * 36) and between["cka_null"].notna().all()
    # Another seed, another permutation: the floor changes, CKA does not.
    reseeded = cka_tables(dumps[0], COORDINATES, [0, 1],
                          CkaSettings(debiased=True, thresholds=(0.99,), seed=1))
    assert reseeded["cka_pre_post"]["cka"].equals(pre_post["cka"])
    assert not np.allclose(reseeded["cka_pre_post"]["cka_null"], pre_post["cka_null"])
    above = tables["cka_layers_above_threshold"]
    assert set(above["model"]) >= {"gpt2"}  # every unchanged layer is above 0.99
    assert len(above[above["model"] == "gpt2"]) == 3 * 18


def test_mutual_information_tables_carry_the_null_beside_every_estimate(dumps):
    mine = MineConfig(hidden=4, iterations=2, batch_size=6)
    tables = hidden_tables(dumps[0], COORDINATES, [1], mine)
    hidden = tables["mutual_information_hidden"]
    no_context = tables["mutual_information_no_context"]
    # models x depths x positions (3K - 1 = 11) x quantities; models x blocks x steps x quantities
    assert len(hidden) == 3 * 3 * 11 * 2 and len(no_context) == (2 + 2 + 4) * 4 * 2
    for table in (hidden, no_context):
        assert table[["mi", "mi_null"]].notna().all().all()
        assert not np.allclose(table["mi"], table["mi_null"])
    batch = window_batch(size=12, context_length=4)
    data = data_table(batch, {"env": "hopper", "dataset": "medium"}, mine)
    assert len(data) == 4 * 2 and list(data.columns[-2:]) == ["mi", "mi_null"]
    # The null of row i: the estimator of row i's stream on its pair with z permuted.
    permuted = (batch.states[:, 0], batch.actions[null_permutation(12, mine.seed), 0])
    assert data["mi_null"].iloc[0] == pytest.approx(
        mine_estimates([permuted], mine, seeds=[0])[0], abs=1e-5)


def test_attention_tables(dumps):
    tables = attention_tables(dumps[0], {**COORDINATES, "experiment": "no_context"}, [0, 1])
    distance, gap = tables["attention_distance"], tables["attention_distance_gap"]
    # models x epochs x methods x blocks x samples
    assert len(distance) == 2 * 2 * (2 + 2 + 4) * 12
    assert (distance["distance"] >= 0).all()
    assert len(gap) == 2 * (2 + 2 + 4) * 12 and (gap["epoch_before"] == 0).all()
    assert np.allclose(gap[gap["model"] == "gpt2"]["gap"], 0.0)
    assert gap[gap["model"] == "random"]["gap"].max() > 0
    assert gap[gap["model"] == "igpt"]["normalised_block"].max() == 1


def test_gradient_and_parameter_change_tables(dumps):
    tables = gradient_tables(dumps[0], COORDINATES, [1])
    assert len(tables["gradient_norms"]) == 3 * 12
    assert (tables["gradient_norms"]["norm"] <= 0.25 + 1e-6).all()
    confusion = tables["gradient_confusion"]
    assert list(confusion["model"]) == list(MODELS) and (confusion["min_cosine"] <= 1).all()
    shares = tables["gradient_norm_share"]
    assert np.allclose(shares.groupby("model")["share"].sum(), 1.0)
    assert len(tables["gradient_norm_per_parameter"]) == 12 * (2 + 2 + 4)
    change = parameter_change_tables(dumps[1], COORDINATES, [0, 1])["parameter_change"]
    assert len(change) == 12 * (2 + 2 + 4)
    assert np.allclose(change[change["model"] == "gpt2"]["l2_distance"], 0.0)
    assert (change[change["model"] == "random"]["l2_distance"] > 0).all()


def test_learning_curve_table_and_gather(tmp_path):
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("epoch,action_error,target_3600_return_mean,target_1800_return_mean\n"
                       "0,,10.0,11.0\n1,0.5,20.0,21.0\n")
    table = learning_curve_table({"random": str(metrics)}, COORDINATES, {"random": 1})
    returns = table[table["metric"] == "return_mean"]
    assert sorted(returns["target_return"].unique()) == [1800.0, 3600.0]
    assert returns[returns["target_return"] == 3600.0]["value"].tolist() == [10.0, 20.0]
    errors = table[table["metric"] == "action_error"]
    assert errors["target_return"].isna().all() and errors["value"].iloc[1] == 0.5
    parts = []
    for seed in (1, 2):
        parts.append(tmp_path / f"part{seed}.csv")
        table.assign(seed=seed).to_csv(parts[-1], index=False)
    concatenate_tables(parts, tmp_path / "all.csv")
    assert len(pd.read_csv(tmp_path / "all.csv")) == 2 * len(table)


def test_analysis_epochs_and_partitions_follow_the_config():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert analysis_epochs(config, "cka", "hopper") == [0, 40]
    assert analysis_epochs(config, "attention_distance", "walker2d") == [0, 1, 4, 10, 40]
    assert len(partitions(config, "cka_pre_post")) == 6
    assert len(partitions(config, "mutual_information_data")) == 3
    assert len(partitions(config, "learning_curves")) == 18 + 3  # no_grad_clip: one seed
    with pytest.raises(ValueError, match="the run has only 40 epochs"):
        resolve_epoch(config, "main", "hopper", 41)


def test_a_truncated_or_garbled_metrics_csv_is_refused_naming_the_file(tmp_path):
    """A metrics.csv missing its last epoch once changed Table 4 silently; a word in a
    number's place drew a broken figure with exit code 0."""
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("epoch,action_error,target_3600_return_mean\n0,,10.0\n1,0.5,20.0\n")
    with pytest.raises(InputError, match=rf"{metrics}: its epochs are \[0, 1\], the run has "
                                         r"0..2. .*delete it and rerun Snakemake"):
        learning_curve_table({"random": str(metrics)}, COORDINATES, {"random": 2})
    metrics.write_text("epoch,action_error,target_3600_return_mean\n0,,10.0\n1,0.5,oops\n")
    with pytest.raises(InputError, match=r"columns \['target_3600_return_mean'\] hold"):
        learning_curve_table({"random": str(metrics)}, COORDINATES, {"random": 1})
    metrics.write_text("epoch,action_error,target_3600_return_mean\n0,,10.0\n1,0.5,20.0\n")
    partition = tmp_path / "curves.csv"
    learning_curve_table({"random": str(metrics)}, COORDINATES, {"random": 1}).to_csv(
        partition, index=False)
    assert len(read_curves(partition, 1)) == 4
    with pytest.raises(InputError, match=r"random's action_error has epochs \[0, 1\]"):
        read_curves(partition, 2)


def test_damaged_inputs_are_refused_naming_the_file_and_the_fix(tmp_path):
    checkpoint, dump, table = tmp_path / "epoch4.pt", tmp_path / "epoch4.hdf5", tmp_path / "t.csv"
    checkpoint.write_bytes(b"")
    with pytest.raises(InputError, match=rf"the checkpoint {checkpoint}: .*delete it"):
        load_checkpoint(checkpoint)
    dump.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # an HDF5 signature, cut short
    with pytest.raises(InputError, match=rf"the dataset {dump}: Unable to .*delete it"):
        with open_hdf5(dump, "dataset"):
            pass
    table.write_bytes(b"a,b\n1,2,3,4\n\xff\xfe")
    with pytest.raises(InputError, match=rf"the table {table}"):
        read_table(table)
