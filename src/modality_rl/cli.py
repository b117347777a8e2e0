"""What every script in scripts/ shares: logging to stderr, which the rules send to a log file."""

from __future__ import annotations

import argparse
import logging


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every table script shares: what it reads, its coordinates, what it writes."""
    parser.add_argument("--input", nargs=3, action="append", default=[],
                        metavar=("MODEL", "EPOCH", "PATH"),
                        help="a probe dump or checkpoint of MODEL at EPOCH (repeatable)")
    parser.add_argument("--coordinates", required=True,
                        help="JSON of the columns shared by every row (env, seed, ...)")
    parser.add_argument("--out", nargs=2, action="append", required=True,
                        metavar=("TABLE", "PATH"), help="where to write each table")


def inputs_by_model(inputs: list[list[str]]) -> dict[str, dict[int, str]]:
    """--input triples as {model: {epoch: path}}, in the order given."""
    by_model: dict[str, dict[int, str]] = {}
    for model, epoch, path in inputs:
        by_model.setdefault(model, {})[int(epoch)] = path
    return by_model


def write_tables(tables: dict, outputs: list[list[str]]) -> None:
    """Write each table to its --out path; the names must match exactly."""
    from modality_rl.tables import write_table

    targets = dict(outputs)
    if targets.keys() != tables.keys():
        raise ValueError(f"--out names {sorted(targets)} do not match the tables this script "
                         f"writes: {sorted(tables)}")
    for name, table in tables.items():
        write_table(table, targets[name])
        logging.getLogger(__name__).info("wrote %s: %d rows to %s", name, len(table),
                                         targets[name])
