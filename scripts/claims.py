"""Claim verdicts from the metric tables: results/claims.{md,csv,rst} and the counts."""

import argparse
import json
import logging

import yaml

from modality_rl.claims.report import (claims_markdown, claims_rst, claims_table,
                                       configuration_differences, verdict_counts)
from modality_rl.claims.verdicts import claim_tables, evaluate_all, load_claims, read_tables
from modality_rl.cli import setup_logging
from modality_rl.io import atomic_path, write_json
from modality_rl.tables import write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", required=True, help="resources/claims.yaml")
    parser.add_argument("--tables-dir", required=True, help="results/tables")
    parser.add_argument("--config", required=True, help="JSON of the run's merged config")
    parser.add_argument("--paper-config", required=True, help="config.yaml, the paper's")
    parser.add_argument("--md", required=True)
    parser.add_argument("--csv", required=True)
    parser.add_argument("--rst", required=True, help="the report's front page includes it")
    parser.add_argument("--json", required=True, help="verdict counts, for dvc metrics")
    args = parser.parse_args()
    setup_logging()
    claims = load_claims(args.claims)
    verdicts = evaluate_all(claims, read_tables(args.tables_dir, claim_tables(claims)))
    with open(args.paper_config) as f:
        differences = configuration_differences(json.loads(args.config), yaml.safe_load(f))
    write_table(claims_table(verdicts), args.csv)
    for target, text in ((args.md, claims_markdown(verdicts, differences)),
                         (args.rst, claims_rst(verdicts, differences))):
        with atomic_path(target) as tmp:
            tmp.write_text(text)
    write_json(verdict_counts(verdicts), args.json)
    for v in verdicts:
        logging.info("claim %s: %s (%s)", v.claim.id, v.verdict, v.reason)


if __name__ == "__main__":
    main()
