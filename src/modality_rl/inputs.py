"""contract: inputs are checked where they are read. A job that reads another stage's
file (a dataset, a checkpoint, a probe dump, a run's metrics.csv, a table) opens it here,
and when it is unreadable or wrong gets an error that names the file and the fix, instead
of h5py's "truncated file", a bare EOFError or a KeyError three calls deeper.

Snakemake cannot see a file damaged after it was made (a disk filling up, a copy cut
short, a hand edit): deleting it makes Snakemake rebuild it and what depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# What rebuilds each kind of file, for the error message.
REBUILT_BY = {
    "dataset": "its data rule (fetch_d4rl_dataset or synthesize_dataset)",
    "probe batch": "probe_batch: delete it, and it is drawn again from its dataset",
    "checkpoint": "train_run: delete the run's checkpoints directory, and the run retrains",
    "probe dump": "probe_run: delete the run's probe directory, and it is probed again",
    "metrics": "train_run: delete the run's metrics.csv, and the run retrains",
    "table": "its table rule",
}


class InputError(RuntimeError):
    """A file a job reads is unreadable or wrong; the message names it and the fix."""


def damaged(path: str | os.PathLike, kind: str, problem: object) -> InputError:
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        problem = "the file is empty (0 bytes)"
    elif isinstance(problem, BaseException) and not str(problem):
        problem = type(problem).__name__  # EOFError() says nothing of its own
    return InputError(
        f"cannot read the {kind} {os.fspath(path)}: {problem}. It is damaged or was cut "
        f"short: delete it and rerun Snakemake, which rebuilds it with {REBUILT_BY[kind]} "
        "(or force that with `snakemake -f <the file>`).")


def open_hdf5_file(path: str | os.PathLike, kind: str):
    """h5py.File(path, "r"), re-raising a damaged file's error (h5py's bare "truncated
    file", "file signature not found") with its path and the fix."""
    import h5py

    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise damaged(path, kind, err) from err


@contextmanager
def open_hdf5(path: str | os.PathLike, kind: str) -> Iterator:
    """open_hdf5_file as a context: the file is closed after the block."""
    with open_hdf5_file(path, kind) as handle:
        yield handle


def read_table(path: str | os.PathLike, kind: str = "table") -> pd.DataFrame:
    """A CSV the pipeline wrote."""
    import pandas as pd  # here, not above: training, probe and data jobs read no table

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise damaged(path, kind, err) from err


def read_run_metrics(path: str | os.PathLike, last_epoch: int) -> pd.DataFrame:
    """A run's metrics.csv, checked: one row per epoch 0..last_epoch, numbers only (the
    action error of epoch 0, before any update, is empty)."""
    from pandas.api.types import is_numeric_dtype

    metrics = read_table(path, "metrics")
    if "epoch" not in metrics:
        raise damaged(path, "metrics", "it has no epoch column")
    epochs = metrics["epoch"].tolist()
    if epochs != list(range(last_epoch + 1)):
        raise damaged(path, "metrics", f"its epochs are {epochs}, the run has 0..{last_epoch}")
    words = [column for column in metrics
             if not is_numeric_dtype(metrics[column])]
    if words:
        raise damaged(path, "metrics", f"columns {words} hold something other than numbers")
    return metrics
