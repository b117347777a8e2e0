"""Draw one paper figure from the metric tables: results/figures/figNN.pdf and .png."""

import argparse
import json

from modality_rl.cli import setup_logging
from modality_rl.figures.draw import draw_catalogued_figure
from modality_rl.figures.options import FigureOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--figure", type=int, required=True, help="the paper's figure number")
    parser.add_argument("--dataset", required=True, help="the configured dataset, e.g. medium")
    parser.add_argument("--pdf", required=True)
    parser.add_argument("--png", required=True)
    parser.add_argument("--options", default="{}",
                        help="JSON of the config's `figures` section (FigureOptions fields)")
    args = parser.parse_args()
    setup_logging()
    draw_catalogued_figure(args.figure, args.dataset, args.pdf, args.png,
                           FigureOptions(**json.loads(args.options)))


if __name__ == "__main__":
    main()
