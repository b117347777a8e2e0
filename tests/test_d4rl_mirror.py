"""The Hugging Face Hub mirror as a D4RL source: conversion, verification, source order.

A parquet file in the mirror's layout (one row per trajectory) is written here and served
by a real HTTP server on loopback as the Hub serves an LFS file: HEAD .../resolve/<rev>/<file>
answers 302 with X-Repo-Commit, X-Linked-Etag and X-Linked-Size, and the bytes come from a
second server (the CDN). The fetch runs in a subprocess so that huggingface_hub reads
HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE from its environment, as under Snakemake.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import REPO, LoopbackServer, d4rl_arrays
from modality_rl.data.d4rl import read_checksums
from modality_rl.data.hub_mirror import read_mirror_trajectories
from modality_rl.data.schema import DatasetError, write_d4rl_hdf5
from modality_rl.data.trajectories import load_trajectories
from modality_rl.io import sha256_file


MIRROR = {"repo": "edbeeching/decision_transformer_gym_replay", "revision": "ab" * 20,
          "file": "{env}-{dataset}-v2/train/0000.parquet", "datasets": ["medium", "expert"]}
PARQUET_PATH = "hopper-medium-v2/train/0000.parquet"
RESOLVE = f"/datasets/{MIRROR['repo']}/resolve/{MIRROR['revision']}/{PARQUET_PATH}"
CLOSED_PORT_URL = "http://127.0.0.1:9/{env}_{dataset}-v2.hdf5"
SCHEMA = pa.schema([("observations", pa.list_(pa.list_(pa.float32()))),
                    ("actions", pa.list_(pa.list_(pa.float32()))),
                    ("rewards", pa.list_(pa.float32())), ("dones", pa.list_(pa.bool_()))])
# Three hopper trajectories: time limit, terminal, time limit.
LENGTHS, DONE_AT_END = (30, 12, 25), (False, True, False)


def mirror_rows(lengths=LENGTHS, done_at_end=DONE_AT_END, seed=0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    rows = {name: [] for name in SCHEMA.names}
    for length, done in zip(lengths, done_at_end):
        rows["observations"].append(rng.normal(size=(length, 11)).astype(np.float32).tolist())
        rows["actions"].append(rng.uniform(-1, 1, size=(length, 3)).astype(np.float32).tolist())
        rows["rewards"].append(rng.uniform(0, 3, size=length).astype(np.float32).tolist())
        rows["dones"].append([False] * (length - 1) + [done])
    return rows


def write_parquet(path: Path, rows: dict[str, list], schema=SCHEMA) -> Path:
    pq.write_table(pa.table(rows, schema=schema), path)
    return path


class Hub:
    """The Hub (resolve endpoint, LFS redirect) and its CDN, on two loopback servers."""

    def __init__(self, body: bytes):
        sha = hashlib.sha256(body).hexdigest()
        self.cdn = LoopbackServer({f"/lfs/{sha}": (200, {}, body)})
        self.hub = LoopbackServer({RESOLVE: (302, {
            "Location": f"{self.cdn.url}/lfs/{sha}", "X-Repo-Commit": MIRROR["revision"],
            "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(body)),
            "ETag": '"0123abcd"'}, b"")})
        self.url, self.sha = self.hub.url, sha

    def __enter__(self):
        self.cdn.__enter__(), self.hub.__enter__()
        return self

    def __exit__(self, *exc):
        self.hub.__exit__(*exc), self.cdn.__exit__(*exc)

    @property
    def requests(self):
        return self.hub.requests + self.cdn.requests


def fetch(tmp_path: Path, sources: list[str], *, hub_url="http://127.0.0.1:9",
          url=CLOSED_PORT_URL, offline=False) -> subprocess.CompletedProcess:
    """Fetch hopper medium into tmp_path/out with the rule's script, in a fresh interpreter
    (the hub client reads HF_ENDPOINT when it is imported)."""
    d4rl = {"local_dir": str(tmp_path / "empty"), "checksums": str(tmp_path / "sums.sha256"),
            "sources": sources, "url": url, "hub": MIRROR}
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("HF_", "HUGGINGFACE_")) and key != "TRANSFORMERS_OFFLINE"}
    env |= {"PYTHONPATH": str(REPO / "src"), "HF_ENDPOINT": hub_url,
            "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1", "HF_HUB_OFFLINE": "1" if offline else "0"}
    spec = json.dumps({"env": "hopper", "dataset": "medium", "d4rl": d4rl,
                       "out": str(target_of(tmp_path))})
    return subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_d4rl.py"), spec],
                          capture_output=True, text=True, env=env, timeout=120)


def target_of(tmp_path: Path) -> Path:
    return tmp_path / "out" / "hopper_medium-v2.hdf5"


def assert_nothing_written(target: Path):
    assert not target.exists()
    assert not list(target.parent.glob(f".{target.name}.tmp-*"))


def test_served_mirror_file_is_converted_verified_and_recorded(tmp_path):
    rows = mirror_rows()
    body = write_parquet(tmp_path / "served.parquet", rows).read_bytes()
    with Hub(body) as hub:
        result = fetch(tmp_path, ["hub"], hub_url=hub.url)
    assert result.returncode == 0, result.stderr
    # huggingface_hub asks the Hub for the file's metadata, then fetches it from the CDN.
    assert hub.hub.requests == [("HEAD", RESOLVE)]
    assert hub.cdn.requests == [("GET", f"/lfs/{hub.sha}")]
    target = target_of(tmp_path)
    trajectories = load_trajectories(target)
    assert [len(t) for t in trajectories] == list(LENGTHS)
    assert [t.terminal for t in trajectories] == list(DONE_AT_END)
    for trajectory, observations, actions, rewards in zip(
            trajectories, rows["observations"], rows["actions"], rows["rewards"]):
        np.testing.assert_array_equal(trajectory.observations, np.float32(observations))
        np.testing.assert_array_equal(trajectory.actions, np.float32(actions))
        np.testing.assert_array_equal(trajectory.rewards, np.float32(rewards))
    with h5py.File(target) as f:
        assert {f.attrs[k] for k in ("repo", "revision", "file")} == {
            MIRROR["repo"], MIRROR["revision"], PARQUET_PATH}
        assert f.attrs["parquet_sha256"] == hub.sha
        next_observations, observations = f["next_observations"][()], f["observations"][()]
        # Inside a trajectory the next observation is the following step's; at its end the
        # mirror does not hold it.
        np.testing.assert_array_equal(next_observations[:29], observations[1:30])
        assert np.isnan(next_observations[[29, 41, 66]]).all()
    listed = read_checksums(tmp_path / "sums.sha256")
    assert listed == {f"{MIRROR['repo']}/{MIRROR['revision']}/hopper_medium-v2.hdf5":
                      sha256_file(target)}
    assert "served by source 1/1, hub" in result.stderr


def test_corrupt_parquet_is_rejected_and_nothing_is_left(tmp_path):
    body = write_parquet(tmp_path / "served.parquet", mirror_rows()).read_bytes()
    with Hub(body[: len(body) // 2] + bytes(len(body) - len(body) // 2)) as hub:
        result = fetch(tmp_path, ["hub"], hub_url=hub.url)
    assert result.returncode != 0
    assert "not a readable parquet file" in result.stderr
    assert "delete it to download it again" in result.stderr
    assert_nothing_written(target_of(tmp_path))
    assert not (tmp_path / "sums.sha256").exists()


def test_both_sources_unreachable_names_both_and_the_local_directory(tmp_path):
    # D4RL: nothing listens on port 9. The Hub: offline, as on a cluster without network.
    result = fetch(tmp_path, ["url", "hub"], offline=True)
    assert result.returncode != 0
    message = result.stderr[result.stderr.index("DatasetUnavailableError"):]
    assert "source 1/2, url http://127.0.0.1:9/hopper_medium-v2.hdf5: URLError" in message
    assert f"source 2/2, hub {MIRROR['repo']}@{MIRROR['revision']}:{PARQUET_PATH}" in message
    assert str(tmp_path / "empty") in message and "data.d4rl.local_dir" in message
    assert_nothing_written(target_of(tmp_path))


@pytest.mark.parametrize("order", [["url", "hub"], ["hub", "url"]])
def test_sources_are_tried_in_order_and_the_log_names_the_one_that_served(tmp_path, order):
    d4rl_body = tmp_path / "d4rl.hdf5"
    write_d4rl_hdf5(d4rl_arrays("hopper", [30, 12]), d4rl_body, {"env": "hopper"})
    parquet = write_parquet(tmp_path / "served.parquet", mirror_rows()).read_bytes()
    with Hub(parquet) as hub, LoopbackServer(
            {"/hopper_medium-v2.hdf5": (200, {}, d4rl_body.read_bytes())}) as d4rl:
        result = fetch(tmp_path, order, hub_url=hub.url,
                       url=d4rl.url + "/{env}_{dataset}-v2.hdf5")
    assert result.returncode == 0, result.stderr
    assert f"served by source 1/2, {order[0]}" in result.stderr
    with h5py.File(target_of(tmp_path)) as f:
        served_by_hub = f.attrs.get("source") == "hub"
    assert served_by_hub == (order[0] == "hub")
    assert not (hub.requests if order[0] == "url" else d4rl.requests)


def test_an_unreachable_first_source_hands_over_to_the_mirror(tmp_path):
    parquet = write_parquet(tmp_path / "served.parquet", mirror_rows()).read_bytes()
    with Hub(parquet) as hub:
        result = fetch(tmp_path, ["url", "hub"], hub_url=hub.url)
    assert result.returncode == 0, result.stderr
    assert "source 1/2, url http://127.0.0.1:9/hopper_medium-v2.hdf5 failed" in result.stderr
    assert "served by source 2/2, hub" in result.stderr


def test_a_prefetched_mirror_file_is_used_offline(tmp_path):
    parquet = write_parquet(tmp_path / "served.parquet", mirror_rows()).read_bytes()
    with Hub(parquet) as hub:
        assert fetch(tmp_path, ["hub"], hub_url=hub.url).returncode == 0
    first = target_of(tmp_path).read_bytes()
    target_of(tmp_path).unlink()
    # The Hub's cache (HF_HOME) now holds the file, as `hf download` leaves it.
    result = fetch(tmp_path, ["hub"], offline=True)
    assert result.returncode == 0, result.stderr
    assert target_of(tmp_path).read_bytes() == first  # and its sum matched the recorded one


@pytest.mark.parametrize("rows, schema, message", [
    ({**mirror_rows(), "dones": [[False] * 29 + [False], [True] * 12, [False] * 25]}, SCHEMA,
     "'dones' is set before the end of a trajectory"),
    ({**mirror_rows(), "actions": [a[:-1] for a in mirror_rows()["actions"]]}, SCHEMA,
     "trajectory 0 has 29 'actions' but 30 'rewards'"),
    ({**mirror_rows(), "observations": [[s[:5] for s in o] for o in mirror_rows()["observations"]]},
     SCHEMA, r"'observations' has steps of width \[5\], the env needs 11"),
    ({k: v for k, v in mirror_rows().items() if k != "dones"},
     pa.schema([field for field in SCHEMA if field.name != "dones"]),
     r"missing the mirror's columns \['dones'\]"),
    ({**mirror_rows(), "rewards": [[None] + r[1:] for r in mirror_rows()["rewards"]]}, SCHEMA,
     "'rewards' has 3 missing values"),
])
def test_malformed_mirror_files_are_rejected_naming_the_problem(tmp_path, rows, schema, message):
    path = write_parquet(tmp_path / "bad.parquet", rows, schema)
    with pytest.raises(DatasetError, match=message):
        read_mirror_trajectories(path, "hopper")
