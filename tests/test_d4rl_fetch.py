"""Providing D4RL files: local copy, real HTTP download on loopback, verification, errors.

Every rejection must leave nothing at the target path (and no temporary file beside it).
The Hub mirror as a second source: tests/test_d4rl_mirror.py.
"""

from pathlib import Path

import h5py
import pytest

from helpers import LoopbackServer
from modality_rl.data.d4rl import DatasetUnavailableError, fetch_d4rl_dataset, read_checksums
from modality_rl.data.schema import DatasetError, verify_d4rl_file
from modality_rl.data.sources import D4RLSources
from modality_rl.io import sha256_file

REPO = Path(__file__).resolve().parents[1]
CLOSED_PORT_URL = "http://127.0.0.1:9/{env}_{dataset}-v2.hdf5"
TEMPLATE = "/{env}_{dataset}-v2.hdf5"


def fetch(local_dir, target, checksums, url=CLOSED_PORT_URL, env="hopper"):
    sources = D4RLSources(local_dir=str(local_dir), checksums=str(checksums), sources=("url",),
                          url=url)
    return fetch_d4rl_dataset(env, "medium", target, sources=sources)


def assert_nothing_written(target: Path):
    assert not target.exists()
    assert not list(target.parent.glob(f".{target.name}.tmp-*"))


def test_shipped_checksum_list_has_the_known_hopper_medium_sum():
    sums = read_checksums(REPO / "resources" / "d4rl-v2.sha256")
    assert sums["hopper_medium-v2.hdf5"] == (
        "5bdf1bc4a713c82941de44633df669b36c89850b652a25985166796d25cf71a0")


def test_local_copy_is_verified_and_its_first_sum_recorded(make_d4rl_file, tmp_path):
    source = make_d4rl_file()
    target, checksums = tmp_path / "out" / "hopper_medium-v2.hdf5", tmp_path / "sums.sha256"
    assert fetch(tmp_path, target, checksums) == 100
    assert sha256_file(target) == sha256_file(source)
    assert read_checksums(checksums) == {"hopper_medium-v2.hdf5": sha256_file(source)}
    target.unlink()
    fetch(tmp_path, target, checksums)  # the same bytes pass against the recorded sum
    assert target.exists()


def test_checksum_mismatch_is_rejected(make_d4rl_file, tmp_path):
    make_d4rl_file(seed=1)
    checksums = tmp_path / "sums.sha256"
    checksums.write_text("0" * 64 + "  hopper_medium-v2.hdf5\n")
    target = tmp_path / "out" / "hopper_medium-v2.hdf5"
    with pytest.raises(DatasetError, match="sha256"):
        fetch(tmp_path, target, checksums)
    assert_nothing_written(target)


def test_truncated_file_is_rejected(make_d4rl_file, tmp_path):
    source = make_d4rl_file(episode_lengths=(400, 400))
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])
    target = tmp_path / "out" / "hopper_medium-v2.hdf5"
    with pytest.raises(DatasetError, match="truncated or corrupted"):
        fetch(tmp_path, target, tmp_path / "sums.sha256")
    assert_nothing_written(target)
    assert not (tmp_path / "sums.sha256").exists()  # nothing recorded for a bad file


@pytest.mark.parametrize("damage, message", [
    (lambda f: f.__delitem__("timeouts"), r"missing D4RL keys \['timeouts'\]"),
    (lambda f: f.__delitem__("rewards") or f.create_dataset("rewards", data=[1.0]),
     "'rewards' has 1 rows"),
    (lambda f: f.__delitem__("actions") or f.create_dataset("actions", data=[[0.0] * 6] * 100),
     r"'actions' has shape \(100, 6\), hopper needs \(100, 3\)"),
])
def test_schema_violations_name_the_key(make_d4rl_file, damage, message):
    path = make_d4rl_file()
    with h5py.File(path, "a") as f:
        damage(f)
    with pytest.raises(DatasetError, match=message):
        verify_d4rl_file(path, "hopper")


def test_no_local_file_and_no_network_says_how_to_provide_it(tmp_path):
    target = tmp_path / "out" / "hopper_medium-v2.hdf5"
    with pytest.raises(DatasetUnavailableError) as error:
        fetch(tmp_path / "empty", target, tmp_path / "sums.sha256")
    message = str(error.value)
    assert "data.d4rl.local_dir" in message and "data.source: synthetic" in message
    assert str(tmp_path / "empty" / "hopper_medium-v2.hdf5") in message
    assert "http://127.0.0.1:9/hopper_medium-v2.hdf5" in message
    assert_nothing_written(target)


def test_download_streams_verifies_and_renames(make_d4rl_file, tmp_path):
    body = make_d4rl_file("served.hdf5").read_bytes()
    target = tmp_path / "out" / "hopper_medium-v2.hdf5"
    with LoopbackServer({"/hopper_medium-v2.hdf5": (200, {}, body)}) as server:
        fetch(tmp_path / "empty", target, tmp_path / "sums.sha256", url=server.url + TEMPLATE)
    assert server.requests == [("GET", "/hopper_medium-v2.hdf5")]
    assert target.read_bytes() == body


def test_cut_off_download_is_rejected(make_d4rl_file, tmp_path):
    body = make_d4rl_file("served.hdf5").read_bytes()
    target = tmp_path / "out" / "hopper_medium-v2.hdf5"
    cut = (200, {"Content-Length": str(len(body))}, body[:1000])
    with LoopbackServer({"/hopper_medium-v2.hdf5": cut}) as server:
        with pytest.raises(DatasetError, match="download stopped after 1000"):
            fetch(tmp_path / "empty", target, tmp_path / "sums.sha256", url=server.url + TEMPLATE)
    assert_nothing_written(target)
