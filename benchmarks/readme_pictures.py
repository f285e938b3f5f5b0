"""Render the README's pictures with brushwork itself: a contents × styles grid, a strength sweep,
and the engines side by side with their times.

python benchmarks/readme_pictures.py            # writes docs/results.jpg, docs/strength.jpg, docs/engines.jpg
python benchmarks/readme_pictures.py --only engines   # run on a quiet machine: the labels carry seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import brushwork
from brushwork import Settings
from brushwork.sheet import CellDone, make_sheet, stylize_sheet, sweep_sheet

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "images"
CONTENTS = ["tubingen", "golden_gate", "face"]
STYLES = ["starry_night", "the_scream", "kandinsky"]
STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]
# The engines picture: (column title, settings) at 512 px.
ENGINES = [
    ("fast", {"method": "fast"}),
    ("draft", {"quality": "draft"}),
    ("normal", {"quality": "normal"}),
]
ENGINE_PAIRS = [("tubingen", "starry_night"), ("golden_gate", "the_scream"), ("face", "kandinsky")]


# The regions picture: (photo, painting, [(column title, overrides)]), at 512 px, draft quality.
REGIONS = [
    ("face", "starry_night", [("whole picture", {}), ("--mask background", {"mask": "background"}),
                              ("--protect-faces", {"protect_faces": True})]),
    ("sailboat", "kandinsky", [("whole picture", {}), ("--mask background", {"mask": "background"}),
                               ("--mask subject", {"mask": "subject"})]),
]  # fmt: skip


def regions_sheet(size: int) -> Image.Image:
    rows, row_labels = [], []
    for content_name, style_name, columns in REGIONS:
        content = SHARED / "content" / f"{content_name}.jpg"
        style = SHARED / "style" / f"{style_name}.jpg"
        row: list[object] = [content]
        for title, overrides in columns:
            settings = Settings(size=size, seed=0, quality="draft", **overrides)
            row.append(brushwork.stylize(content, style, settings=settings).image)
            print(f"{content_name}: {title}", file=sys.stderr, flush=True)
        rows.append(row)
        row_labels.append(f"{content_name} / {style_name}")
    titles = ["photo", "whole picture", "background only", "faces kept / subject only"]
    return make_sheet(rows, row_labels=row_labels, col_labels=titles, cell_size=300)


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def engines_sheet(size: int) -> Image.Image:
    """Each pair painted by each engine/preset, labelled with the seconds it took here."""
    rows: list[list[object]] = []
    seconds_by_column: list[list[float]] = [[] for _ in ENGINES]
    warm_content = SHARED / "content" / f"{ENGINE_PAIRS[0][0]}.jpg"
    warm_style = SHARED / "style" / f"{ENGINE_PAIRS[0][1]}.jpg"
    for _, overrides in ENGINES:  # build the networks once, as a warm process has them
        brushwork.stylize(warm_content, warm_style, settings=Settings(size=64, **overrides))
    for content_name, style_name in ENGINE_PAIRS:
        content = SHARED / "content" / f"{content_name}.jpg"
        style = SHARED / "style" / f"{style_name}.jpg"
        row = []
        for column, (title, overrides) in enumerate(ENGINES):
            result = brushwork.stylize(content, style, settings=Settings(size=size, seed=0, **overrides))
            seconds = result.timings["total"]
            print(f"{content_name} × {style_name}, {title}: {seconds:.2f} s", file=sys.stderr, flush=True)
            row.append(result.image)
            seconds_by_column[column].append(seconds)
        rows.append(row)
    titles = [
        f"{title}: {_seconds(min(times))} to {_seconds(max(times))} s"
        for (title, _), times in zip(ENGINES, seconds_by_column, strict=True)
    ]
    return make_sheet(
        rows, row_labels=[f"{c} / {s}" for c, s in ENGINE_PAIRS], col_labels=titles, cell_size=320
    )


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
    parser.add_argument("--only", choices=("results", "strength", "engines", "regions"))
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
    if args.only in (None, "regions"):
        save_jpeg(regions_sheet(512), ROOT / "docs" / "regions.jpg", 1200)
    if args.only in (None, "engines"):
        save_jpeg(engines_sheet(512), ROOT / "docs" / "engines.jpg", 1100)


if __name__ == "__main__":
    main()
