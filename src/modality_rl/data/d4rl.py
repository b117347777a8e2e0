"""Provide the real D4RL v2 files: copy them from a local directory or download them.

Either way the file is written to a temporary path, verified (schema, then sha256 against
the checksum list shipped in the repository), and only then renamed into place.
The list ships with the sums we know; a file whose sum is not listed yet is accepted on
first download and its sum appended to the list, so that every later download is checked
against it (commit the updated list to share it).
"""

from __future__ import annotations

import fcntl
import http.client
import logging
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from modality_rl.data.schema import DatasetError, verify_d4rl_file
from modality_rl.io import CHUNK_BYTES, atomic_path, sha256_file

log = logging.getLogger(__name__)


class DatasetUnavailableError(DatasetError):
    """Neither a local copy nor a download could provide a D4RL file."""


def d4rl_filename(env: str, dataset: str) -> str:
    return f"{env}_{dataset}-v2.hdf5"


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
                "the file is corrupted or not the D4RL v2 release")


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


def fetch_d4rl_dataset(env: str, dataset: str, target: str | os.PathLike, *,
                       local_dir: str | os.PathLike, url_template: str,
                       checksums: str | os.PathLike) -> int:
    """Put a verified `{env}_{dataset}-v2.hdf5` at `target`; return its transition count."""
    name = d4rl_filename(env, dataset)
    local = Path(local_dir).expanduser() / name
    url = url_template.format(env=env, dataset=dataset)
    with atomic_path(target) as tmp:
        if local.exists():
            log.info("copying %s", local)
            shutil.copyfile(local, tmp)
            origin = str(local)
        else:
            log.info("%s not found; downloading %s", local, url)
            try:
                download(url, tmp)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                raise DatasetUnavailableError(
                    f"cannot provide {name}: it is not in {local.parent} (config key "
                    f"data.d4rl.local_dir) and downloading {url} failed ({err}). Copy the D4RL "
                    f"file to {local}, or set data.source: synthetic (as presets/quick.yaml "
                    "does) to build the datasets offline in MuJoCo.") from err
            origin = url
        try:
            n = verify_d4rl_file(tmp, env)
            verify_checksum(tmp, name, checksums)
        except DatasetError as err:
            raise DatasetError(f"{origin} was rejected: {err}") from err
    log.info("%s: %d transitions verified", name, n)
    return n
