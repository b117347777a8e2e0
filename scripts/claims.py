"""Claim verdicts from the metric tables, on one dataset's rows: results/claims.{md,csv,rst}
and the counts (another dataset's: results/claims/<dataset>.*)."""

import logging
from dataclasses import dataclass
from typing import Any

import yaml

from modality_rl.claims.report import (claims_markdown, claims_rst, claims_table,
                                       configuration_differences, random_weight_bodies,
                                       verdict_counts)
from modality_rl.claims.verdicts import evaluate_all, load_claims, read_tables
from modality_rl.cli import parse_job
from modality_rl.data.datasets import PAPER_DATASET
from modality_rl.data.minari_source import NOT_THE_PAPERS_DATA
from modality_rl.io import atomic_path, write_json
from modality_rl.tables import write_table


@dataclass(frozen=True, kw_only=True)
class ClaimsJob:
    claims: str  # resources/claims.yaml
    tables: dict[str, str]  # {table: its gathered CSV} the claims read
    config: dict[str, Any]  # the run's merged configuration, less report.UNCOMPARED
    paper_config: str  # config.yaml: what the run's configuration is compared with
    md: str
    csv: str
    rst: str  # the report's front page includes it
    json: str  # verdict counts, for dvc metrics
    dataset: str = PAPER_DATASET  # whose rows of the tables the claims are tested on


def main() -> None:
    job, _ = parse_job(ClaimsJob, __doc__)
    claims = load_claims(job.claims)
    verdicts = evaluate_all(claims, read_tables(job.tables, job.dataset))
    with open(job.paper_config) as f:
        differences = configuration_differences(job.config, yaml.safe_load(f))
    if job.config["data"]["source"] == "minari":
        differences.insert(0, NOT_THE_PAPERS_DATA)
    if job.dataset != PAPER_DATASET:
        differences.insert(0, f"dataset {job.dataset}: these verdicts test the paper's claims "
                              f"on another dataset than its own ({PAPER_DATASET})")
    random_bodies = random_weight_bodies(job.config)
    if random_bodies:
        logging.warning("the %s bodies have RANDOM weights, NOT pre-trained ones: no verdict "
                        "says anything about pre-training", ", ".join(random_bodies))
    write_table(claims_table(verdicts), job.csv)
    for target, text in ((job.md, claims_markdown(verdicts, differences, random_bodies)),
                         (job.rst, claims_rst(verdicts, differences, random_bodies))):
        with atomic_path(target) as tmp:
            tmp.write_text(text)
    write_json(verdict_counts(verdicts), job.json)
    for v in verdicts:
        logging.info("claim %s: %s (%s)", v.claim.id, v.verdict, v.reason)


if __name__ == "__main__":
    main()
