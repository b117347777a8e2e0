"""Write docs/figures.md: each figure's rule, script, drawing function and tables."""

import argparse

from modality_rl.figures.index import figure_index
from modality_rl.io import atomic_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalogue", default="resources/figures.tsv")
    parser.add_argument("--out", default="docs/figures.md")
    args = parser.parse_args()
    with atomic_path(args.out) as tmp:
        tmp.write_text(figure_index(args.catalogue))


if __name__ == "__main__":
    main()
