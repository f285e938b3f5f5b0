"""Seam check of a tiled result, and a 100 % crop where four tiles meet.

    python benchmarks/seams.py benchmarks/results/large_3840.png --tile 640 --crop docs/crop_3840.png

Compares the mean absolute luminance step across the final scale's tile borders with the same
measure over every column and row on the same 16-pixel phase (a seam shows as a ratio well above 1),
and
crops 512 x 512 pixels centred on an inner corner of the tile grid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from brushwork.engines.optimize.tiles import plan_tiles
from brushwork.imageio import read_image, write_image


def border_ratio(steps: np.ndarray, borders: list[int]) -> float:
    """Mean step across the borders over the mean step across every line of the same phase modulo
    16: borders lie on the 16-pixel grid, and VGG's pooling leaves a faint period-4 texture that
    would otherwise read as a seam."""
    if not borders:
        return float("nan")
    phase = (borders[0] - 1) % 16
    same_phase = steps[phase::16]
    return round(float(steps[[b - 1 for b in borders]].mean() / same_phase.mean()), 3)


def seam_report(image: Path, tile: int, crop: Path | None = None) -> dict[str, object]:
    """Border steps over same-phase steps for the final scale's tiles of core size ``tile``, and
    optionally a 512 px crop centred on an inner corner of the tile grid."""
    rgb = read_image(image).rgb
    luma = rgb.mean(axis=2)
    height, width = luma.shape
    tiles = plan_tiles(height, width, tile, 0)  # the cores do not depend on the halo
    columns = sorted({t.right for t in tiles if t.right < width})
    rows = sorted({t.bottom for t in tiles if t.bottom < height})
    across = np.abs(np.diff(luma, axis=1)).mean(axis=0)  # across[x - 1]: the step from x - 1 to x
    down = np.abs(np.diff(luma, axis=0)).mean(axis=1)
    report: dict[str, object] = {
        "size": [width, height],
        "tile": tile,
        "tiles": len(tiles),
        "column_borders": columns,
        "row_borders": rows,
        "column_ratio": border_ratio(across, columns),
        "row_ratio": border_ratio(down, rows),
    }
    if crop is not None and columns and rows:
        x, y = columns[len(columns) // 2], rows[len(rows) // 2]
        top, left = max(0, y - 256), max(0, x - 256)
        write_image(crop, rgb[top : top + 512, left : left + 512])
        report["crop"] = {"left": left, "top": top, "size": 512, "corner": [x, y]}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("image", type=Path)
    parser.add_argument("--tile", type=int, required=True, help="core size of the final scale's tiles")
    parser.add_argument("--crop", type=Path)
    args = parser.parse_args()
    print(json.dumps(seam_report(args.image, args.tile, args.crop), indent=1))


if __name__ == "__main__":
    main()
