"""File writing that never leaves a half-written output at the target path."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1 << 20


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it to `target` only on success.

    The temporary file lives in the same directory so the final `os.replace` is atomic.
    On any exception it is removed and `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside `target`; on success it replaces `target`
    (whatever was there), on failure it is removed and `target` is left as it was. A
    publish cut short between the two renames leaves no half directory at `target`, so it
    can simply be repeated."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class LockHeldError(RuntimeError):
    """Another live process holds the lock; the message names its PID."""


class ExclusiveLock:
    """An exclusive, non-blocking flock on `path`, holding the owner's PID; released when
    the process ends, however it ends. `with ExclusiveLock(path):` or acquire()/release()."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._handle = None

    def acquire(self) -> ExclusiveLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LockHeldError(f"{self.path} is held by PID {holder}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None

    def __enter__(self) -> ExclusiveLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def remove_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the `.<name>.tmp-<pid>` files and directories that `atomic_path` and
    `atomic_directory` leave behind when their process is killed. Only call it while
    holding the lock of whatever writes into `directory`."""
    removed = sorted(Path(directory).glob(".*.tmp-*"))
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return removed


def write_json(data: Any, target: str | os.PathLike) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
