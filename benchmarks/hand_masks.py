"""The hand-drawn subject masks of the lion, the sailing ship and the coffee cup (the portrait's came with
the shared images): polygons and ellipses read off each picture on an 800-px grid by eye, filled with
OpenCV. Writes tests/data/subject/NAME_mask_full.png (at the photo's own size) and the 256-px copies
beside the 256-px photos there; bench_subject.py scores the finders against them.

    python benchmarks/hand_masks.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from _common import IMAGES

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "subject"
GRID = 800  # the long side the coordinates below are read on
# The lion fills the frame: everything but the light grey wall at the top corners and the edges.
LION = [
    [
        (60, 0),
        (700, 0),
        (740, 40),
        (760, 100),
        (770, 200),
        (775, 300),
        (780, 420),
        (790, 520),
        (800, 560),
        (800, 800),
        (0, 800),
        (0, 700),
        (15, 640),
        (20, 500),
        (15, 400),
        (20, 300),
        (22, 200),
        (30, 100),
        (45, 30),
    ]
]
# Hull and deckhouse, the two top sails, the two gaff sails with their masts, the jib; not the rigging.
SAILBOAT = [
    [(40, 428), (55, 418), (80, 405), (85, 385), (120, 378), (160, 368), (330, 362), (350, 372), (380, 378),
     (440, 378), (540, 385), (560, 395), (600, 392), (640, 385), (700, 375), (740, 360), (770, 352),
     (745, 365), (700, 395), (670, 430), (640, 460), (620, 468), (500, 478), (330, 478), (180, 480),
     (130, 478), (100, 470), (70, 455), (45, 445)],
    [(230, 150), (300, 95), (308, 72), (315, 72), (320, 200), (310, 200)],
    [(205, 158), (325, 232), (330, 345), (340, 362), (175, 360)],
    [(410, 132), (490, 48), (497, 40), (503, 40), (515, 195), (505, 195)],
    [(380, 127), (512, 212), (525, 212), (535, 390), (380, 388), (390, 360), (395, 145)],
    [(538, 213), (750, 352), (700, 372), (608, 398), (570, 330)],
]  # fmt: skip
# The cup and its saucer as two ellipses (centre, half-axes), and the spoon's handle above the rim.
COFFEE = [[(538, 110), (548, 90), (563, 93), (558, 125), (545, 150)]]
COFFEE_ELLIPSES = [((371, 307), (270, 212)), ((388, 140), (157, 115))]
PHOTOS = {
    "lion": (IMAGES / "content" / "lion.jpg", LION, []),
    "sailboat": (IMAGES / "content" / "sailboat.jpg", SAILBOAT, []),
    "coffee": (DATA / "coffee_full.jpg", COFFEE, COFFEE_ELLIPSES),
}


def render(size: tuple[int, int], polygons: list[list[tuple[int, int]]], ellipses: list) -> np.ndarray:
    """The shapes, drawn on the 800-px grid and brought to size = (width, height): True inside."""
    width, height = size
    scale = GRID / max(width, height)
    canvas = np.zeros((round(height * scale), round(width * scale)), np.uint8)
    cv2.fillPoly(canvas, [np.array(p, np.int32) for p in polygons], 255, cv2.LINE_AA)
    for centre, axes in ellipses:
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_LINEAR) > 127


def main() -> None:
    for name, (photo, polygons, ellipses) in PHOTOS.items():
        size = Image.open(photo).size
        mask = render(size, polygons, ellipses)
        Image.fromarray(mask).save(DATA / f"{name}_mask_full.png", optimize=True)
        small = Image.open(DATA / f"{name}.jpg").size
        Image.fromarray(render(small, polygons, ellipses)).save(DATA / f"{name}_mask.png", optimize=True)
        print(f"{name}: {mask.mean():.0%} of {size[0]}x{size[1]} is the subject")


if __name__ == "__main__":
    main()
