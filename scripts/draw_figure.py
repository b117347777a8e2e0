"""Draw one paper figure from the metric tables: results/figures/figNN.pdf and .png."""

from dataclasses import dataclass, field

from modality_rl.cli import parse_job
from modality_rl.figures.draw import draw_catalogued_figure
from modality_rl.figures.options import FigureOptions


@dataclass(frozen=True, kw_only=True)
class FigureJob:
    figure: int  # the paper's figure number
    catalogue: str  # resources/figures.tsv: the figure's panels
    dataset: str  # the configured dataset, e.g. medium (its table partitions are read)
    options: FigureOptions  # config key figures: the released computation or ours
    panels: tuple[str, ...]  # the panels (letters) the configuration can make
    pdf: str
    png: str
    # Labels of the models beyond the paper's three, which its shared panels draw too
    # (absent: none, so the paper's figure jobs keep their specs).
    models: dict[str, str] = field(default_factory=dict)


def main() -> None:
    job, _ = parse_job(FigureJob, __doc__)
    draw_catalogued_figure(job.catalogue, job.figure, job.dataset, job.pdf, job.png,
                           job.options, job.panels, job.models)


if __name__ == "__main__":
    main()
