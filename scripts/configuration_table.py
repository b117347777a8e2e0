"""Table 3 of the paper (training configuration) from the configuration in use, as Markdown."""

import argparse
import json
import logging

from modality_rl.cli import setup_logging
from modality_rl.figures.paper_tables import configuration_table
from modality_rl.io import atomic_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="the merged configuration as JSON")
    parser.add_argument("--md", required=True)
    args = parser.parse_args()
    setup_logging()
    with atomic_path(args.md) as tmp:
        tmp.write_text(configuration_table(json.loads(args.config)))
    logging.info("Table 3 (the configuration in use) to %s", args.md)


if __name__ == "__main__":
    main()
