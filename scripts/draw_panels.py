"""Draw a figure of panels the workflow lays out itself from the metric tables: an
analysis' own figure, one panel per env (results/figures/analyses/<kind>.pdf and .png),
or a paper figure's per-model panels for another model
(results/figures/models/figNN_<model>.pdf and .png)."""

from dataclasses import dataclass, field

from modality_rl.cli import parse_job
from modality_rl.figures.catalogue import Panel
from modality_rl.figures.draw import draw_panels
from modality_rl.figures.options import FigureOptions


@dataclass(frozen=True, kw_only=True)
class PanelsJob:
    panels: tuple[Panel, ...]  # in the catalogue's terms: kind, env, seed, models, epochs
    drawers: tuple[str, ...]  # modules that register the panels' kinds
    dataset: str  # the configured dataset, e.g. medium (its table partitions are read)
    options: FigureOptions  # config key figures
    pdf: str
    png: str
    models: dict[str, str] = field(default_factory=dict)  # labels beyond the paper's three


def main() -> None:
    job, _ = parse_job(PanelsJob, __doc__)
    draw_panels(list(job.panels), job.drawers, job.dataset, job.pdf, job.png, job.options,
                job.models)


if __name__ == "__main__":
    main()
