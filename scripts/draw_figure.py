"""Draw one paper figure from the metric tables: results/figures/figNN.pdf and .png."""

import argparse

from modality_rl.cli import setup_logging
from modality_rl.figures.draw import draw_catalogued_figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--figure", type=int, required=True, help="the paper's figure number")
    parser.add_argument("--dataset", required=True, help="the configured dataset, e.g. medium")
    parser.add_argument("--pdf", required=True)
    parser.add_argument("--png", required=True)
    args = parser.parse_args()
    setup_logging()
    draw_catalogued_figure(args.figure, args.dataset, args.pdf, args.png)


if __name__ == "__main__":
    main()
