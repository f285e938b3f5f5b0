"""Render the README's pictures with brushwork itself: a contents × styles grid and a strength sweep.

python benchmarks/readme_pictures.py            # writes docs/results.jpg and docs/strength.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from brushwork import Settings
from brushwork.sheet import CellDone, stylize_sheet, sweep_sheet

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "images"
CONTENTS = ["tubingen", "golden_gate", "face"]
STYLES = ["starry_night", "the_scream", "kandinsky"]
STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]


def report(cell: CellDone) -> None:
    seconds = cell.result.timings["total"]
    print(f"{cell.done}/{cell.total} {cell.label}: {seconds:.0f} s", file=sys.stderr, flush=True)


def save_jpeg(image: Image.Image, path: Path, max_width: int) -> None:
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(image.convert("RGB"))).save(path, quality=88, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--only", choices=("results", "strength"))
    args = parser.parse_args()
    settings = Settings(size=args.size, seed=0)
    contents = [SHARED / "content" / f"{name}.jpg" for name in CONTENTS]
    styles = [SHARED / "style" / f"{name}.jpg" for name in STYLES]
    if args.only in (None, "results"):
        grid = stylize_sheet(contents, styles, settings=settings, cell_size=256, on_cell=report)
        save_jpeg(grid, ROOT / "docs" / "results.jpg", 1100)
    if args.only in (None, "strength"):
        sweep = sweep_sheet(
            contents[:1], styles[:1], "strength", STRENGTHS, settings=settings, cell_size=256, on_cell=report
        )
        save_jpeg(sweep, ROOT / "docs" / "strength.jpg", 1400)


if __name__ == "__main__":
    main()
