"""File writing that never leaves a half-written output at the target path, nor (after
its next run) a temporary file beside it, and says where and why a write failed."""

from __future__ import annotations

import errno
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


# `.<name>.tmp-<pid>`: the temporaries below; .gitignore and .dvcignore ignore the pattern.
TEMPORARY = ".{name}.tmp-{pid}"


class WriteError(OSError):
    """Writing an output failed; the message names it and the free space left."""


def temporary(target: Path) -> Path:
    """This process's temporary for `target`, after removing any earlier writer's: a job
    killed mid-write (kill -9, a node lost) leaves one, and Snakemake runs one job per
    output at a time, so those are dead."""
    for stale in target.parent.glob(TEMPORARY.format(name=target.name, pid="*")):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    return target.with_name(TEMPORARY.format(name=target.name, pid=os.getpid()))


def free_space(directory: Path) -> str:
    """How much room is left where `directory` is (its nearest existing parent)."""
    while not directory.exists():
        directory = directory.parent
    usage = shutil.disk_usage(directory)
    return f"{usage.free / 2**30:.2f} GiB of {usage.total / 2**30:.1f} GiB free on {directory}"


# The file system refusing a write: no space, a file-size limit, a quota, a read-only or
# failing disk.
WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}
# How libraries report those without an errno: torch.save's archive writer ("[enforce fail
# at inline_container.cc] unexpected pos"), HDF5 ("unable to extend file properly,
# errno = 27").
WRITE_FAILURE_MARKS = ("inline_container", "PytorchStreamWriter", "unable to extend file",
                       "file write failed")


def is_write_failure(err: BaseException) -> bool:
    """An error of the file system refusing a write (not, say, a download that failed
    inside the same block)."""
    if isinstance(err, WriteError):
        return False  # already named
    if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
        return True
    return (type(err) in (RuntimeError, OSError)
            and any(mark in str(err) for mark in WRITE_FAILURE_MARKS))


def write_failed(target: Path, err: BaseException) -> WriteError:
    reason = str(err) or type(err).__name__
    return WriteError(f"writing {target} failed: {reason} ({free_space(target.parent)}; a "
                      "full disk or a file-size limit (ulimit -f) stops writes this way)")


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it to `target` only on success.

    The temporary file lives in the same directory so the final `os.replace` is atomic.
    On any exception it is removed and `target` is left untouched; an error of the write
    itself (is_write_failure) comes back as a WriteError naming `target` and the free
    space.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except (OSError, RuntimeError) as err:
        if not is_write_failure(err):
            raise
        raise write_failed(target, err) from err
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside `target`; on success it replaces `target`
    (whatever was there), on failure it is removed and `target` is left as it was. A
    publish cut short between the two renames leaves no half directory at `target`, so it
    can simply be repeated."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(target)
    tmp.mkdir()
    try:
        yield tmp
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except (OSError, RuntimeError) as err:
        if not is_write_failure(err):
            raise
        raise write_failed(target, err) from err
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
    removed = sorted(Path(directory).glob(TEMPORARY.format(name="*", pid="*")))
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return removed


def write_torch(obj: Any, target: str | os.PathLike) -> None:
    """torch.save through a file handle: from a path, torch names the archive's records
    after the (temporary, per-process) file name, so equal tensors would differ in bytes."""
    import torch

    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def write_json(data: Any, target: str | os.PathLike) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
