"""Claim verdicts from the metric tables: results/claims.{md,csv,rst} and the counts."""

import logging
from dataclasses import dataclass
from typing import Any

import yaml

from modality_rl.claims.report import (claims_markdown, claims_rst, claims_table,
                                       configuration_differences, random_weight_bodies,
                                       verdict_counts)
from modality_rl.claims.verdicts import evaluate_all, load_claims, read_tables
from modality_rl.cli import parse_job
from modality_rl.io import atomic_path, write_json
from modality_rl.tables import write_table


@dataclass(frozen=True, kw_only=True)
class ClaimsJob:
    claims: str  # resources/claims.yaml
    tables: dict[str, str]  # {table: its gathered CSV} the claims read
    config: dict[str, Any]  # the run's merged configuration
    paper_config: str  # config.yaml: what the run's configuration is compared with
    md: str
    csv: str
    rst: str  # the report's front page includes it
    json: str  # verdict counts, for dvc metrics


def main() -> None:
    job, _ = parse_job(ClaimsJob, __doc__)
    claims = load_claims(job.claims)
    verdicts = evaluate_all(claims, read_tables(job.tables))
    with open(job.paper_config) as f:
        differences = configuration_differences(job.config, yaml.safe_load(f))
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
