"""Table 1, 2 or 4 of the paper from learning-curve partitions: CSV, Markdown and JSON."""

import json
import logging
from dataclasses import dataclass, field

import pandas as pd

from modality_rl.cli import parse_job
from modality_rl.data.datasets import PAPER_DATASET
from modality_rl.io import atomic_path
from modality_rl.scores import load_reference_returns
from modality_rl.tables import write_table
from modality_rl.tables.learning_curves import read_curves
from modality_rl.tables.paper import PAPER_TABLES, markdown, paper_table, published_numbers
from modality_rl.tables.summaries import table_metrics


@dataclass(frozen=True, kw_only=True)
class PaperTableJob:
    number: int  # 1, 2 or 4
    curves: dict[str, int]  # {learning_curves partition of its experiment: the last epoch}
    published: str  # resources/paper_tables.tsv: the paper's numbers
    reference_returns: tuple[str, ...]  # every env's: they say which convention is missing
    csv: str
    md: str
    json: str  # the numbers alone, for dvc metrics
    # Labels of the table's models beyond the paper's, whose rows stand beside (absent:
    # none, so the paper's tables keep their specs).
    models: dict[str, str] = field(default_factory=dict)
    dataset: str = PAPER_DATASET  # the dataset its runs trained on


def main() -> None:
    job, _ = parse_job(PaperTableJob, __doc__)
    table = PAPER_TABLES[job.number]
    curves = pd.concat([read_curves(path, last) for path, last in job.curves.items()])
    references = [load_reference_returns(path) for path in job.reference_returns]
    missing = {refs.env: refs.missing for refs in references}
    notes = sorted({refs.data for refs in references if refs.data})
    long = paper_table(table, curves, published_numbers(job.published, job.number), missing,
                       list(job.models))
    write_table(long, job.csv)
    with atomic_path(job.md) as tmp:
        tmp.write_text(markdown(table, long, job.models, job.dataset, notes))
    with atomic_path(job.json) as tmp:
        tmp.write_text(json.dumps(table_metrics(long), indent=2) + "\n")
    logging.info("Table %d from %d partitions to %s, %s and %s", job.number, len(job.curves),
                 job.csv, job.md, job.json)


if __name__ == "__main__":
    main()
