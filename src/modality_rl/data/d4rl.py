"""Provide the real D4RL v2 files: a local copy, or the configured sources in order.

`data.d4rl` (modality_rl.data.sources) names a local directory and an ordered list of
sources: the D4RL release (downloaded as published) and the Hugging Face Hub mirror
(converted, modality_rl.data.hub_mirror). Whatever provides the file, it is written to a
temporary path, verified (schema, then sha256 against the checksum list shipped in the
repository), and only then renamed into place. A source that fails or whose file is
rejected hands over to the next; the log says which source served the file.
The list ships with the sums we know; a file whose sum is not listed yet is accepted on
first download and its sum appended to the list, so that every later download is checked
against it (commit the updated list to share it). Converted files are listed under
`{repo}/{revision}/{file name}`: their bytes are not the D4RL release's.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import urllib.request
from pathlib import Path

from tqdm import tqdm

from modality_rl.data.datasets import dataset_names
from modality_rl.data.hub_mirror import write_mirror_dataset
from modality_rl.data.schema import DatasetError, verify_d4rl_file
from modality_rl.data.sources import D4RLSources
from modality_rl.io import CHUNK_BYTES, atomic_path, sha256_file

log = logging.getLogger(__name__)


class DatasetUnavailableError(DatasetError):
    """Neither a local copy nor any configured source could provide a D4RL file."""


def read_checksums(path: str | os.PathLike) -> dict[str, str]:
    """Parse a `sha256sum`-format list: `<hex digest>  <file name>` per line."""
    path = Path(path)
    if not path.exists():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest.lower()
    return sums


def verify_checksum(file: Path, name: str, checksums: str | os.PathLike) -> None:
    """Compare `file`'s sha256 with the listed sum for `name`, or record it if unlisted."""
    digest = sha256_file(file)
    checksums = Path(checksums)
    # Lock the list: parallel download jobs may record sums at the same time.
    checksums.parent.mkdir(parents=True, exist_ok=True)
    with open(checksums, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        expected = read_checksums(checksums).get(name)
        if expected is None:
            handle.write(f"{digest}  {name}\n")
            log.warning("recorded the first sha256 of %s in %s: %s (commit the list to share it)",
                        name, checksums, digest)
        elif digest != expected:
            raise DatasetError(
                f"{name}: sha256 {digest} does not match {expected} listed in {checksums}; "
                "the file is corrupted, or not the file whose sum was listed (the D4RL v2 "
                "release, or the conversion of the pinned mirror revision)")


def download(url: str, dest: Path, timeout_s: float = 60.0) -> None:
    """Stream `url` to `dest` with a progress bar; fail if fewer bytes arrive than announced."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response, open(dest, "wb") as out:
        announced = response.headers.get("Content-Length")
        total = int(announced) if announced else None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name.split(".tmp")[0]) as bar:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise DatasetError(f"{url}: download stopped after {received} of {total} bytes")


def _from_url(sources: D4RLSources, env: str, dataset: str, tmp: Path) -> str:
    """Download the D4RL release's file; return the name its sum is listed under."""
    download(sources.url_of(env, dataset), tmp)
    return dataset_names(env, dataset).d4rl_file


def _from_hub(sources: D4RLSources, env: str, dataset: str, tmp: Path) -> str:
    """Convert the mirror's trajectories; return the name their file's sum is listed under."""
    write_mirror_dataset(sources.hub, env, dataset, tmp)
    return f"{sources.hub.repo}/{sources.hub.revision}/{dataset_names(env, dataset).d4rl_file}"


FETCHERS = {"url": _from_url, "hub": _from_hub}


def _verified(tmp: Path, env: str, checksum_name: str, checksums: Path) -> int:
    n = verify_d4rl_file(tmp, env)
    verify_checksum(tmp, checksum_name, checksums)
    return n


def fetch_d4rl_dataset(env: str, dataset: str, target: str | os.PathLike, *,
                       sources: D4RLSources) -> int:
    """Put a verified D4RL v2 file of (env, dataset) at `target`; return its transition
    count."""
    name = dataset_names(env, dataset).d4rl_file
    local = sources.local_path / name
    if local.exists():
        log.info("copying %s", local)
        with atomic_path(target) as tmp:
            shutil.copyfile(local, tmp)
            try:
                n = _verified(tmp, env, name, sources.checksums)
            except DatasetError as err:
                raise DatasetError(f"{local} was rejected: {err}") from err
        log.info("%s: %d transitions verified, copied from %s", name, n, local)
        return n

    failures = []
    for position, kind in enumerate(sources.sources, 1):
        label = f"source {position}/{len(sources.sources)}, {sources.describe(kind, env, dataset)}"
        if not sources.holds(kind, dataset):
            failures.append(f"{label}: holds no {dataset} dataset (data.d4rl.hub.datasets)")
            continue
        log.info("%s not found; trying %s", local, label)
        try:
            with atomic_path(target) as tmp:
                n = _verified(tmp, env, FETCHERS[kind](sources, env, dataset, tmp),
                              sources.checksums)
        # Whatever made this source fail (its network client's errors differ from one
        # hub library version to the next, or its file was rejected), the next may serve;
        # the final message names every failure.
        except Exception as err:
            log.warning("%s failed: %s", label, err)
            failures.append(f"{label}: {type(err).__name__}: {err}")
            continue
        log.info("%s: %d transitions verified, served by %s", name, n, label)
        return n
    tried = "".join(f"\n  - {failure}" for failure in failures)
    raise DatasetUnavailableError(
        f"cannot provide {name}: it is not in {local.parent} (config key data.d4rl.local_dir) "
        f"and no source in data.d4rl.sources served a verified file:{tried}\n"
        f"Copy the D4RL file to {local}; or, on a machine with network, pre-fetch the Hub "
        "mirror's file into the Hugging Face cache (`hf download`, README section Data) and "
        "copy the cache here; or set data.source: synthetic (as presets/quick.yaml does) to "
        "build the datasets offline in MuJoCo.")
