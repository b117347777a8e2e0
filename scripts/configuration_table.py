"""Table 3 of the paper (training configuration) from the configuration in use, as Markdown."""

import logging
from dataclasses import dataclass
from typing import Any

from modality_rl.cli import parse_job
from modality_rl.io import atomic_path
from modality_rl.tables.paper import configuration_table


@dataclass(frozen=True, kw_only=True)
class ConfigurationTableJob:
    config: dict[str, Any]  # the config keys training, backbones, experiments, evaluation
    md: str


def main() -> None:
    job, _ = parse_job(ConfigurationTableJob, __doc__)
    with atomic_path(job.md) as tmp:
        tmp.write_text(configuration_table(job.config))
    logging.info("Table 3 (the configuration in use) to %s", job.md)


if __name__ == "__main__":
    main()
