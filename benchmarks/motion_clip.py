"""A high-motion test clip made from two of the shared photos, for the video benchmark.

The issue's held-out clip is not here, and cutBunny moves slowly for most of its length, so this
makes a harder one, the same every time: 150 frames at 24 fps in two shots with a cut between them.

- Shot 1 (frames 0-74): an accelerating pan across the Taj Mahal with a slow zoom in and a hand-held
  shake, from about 3 to about 20 pixels a frame at 640 × 360 (a whip pan at the end).
- Shot 2 (frames 75-149): a zoom in on the lion while the camera rolls, with a sailboat card sliding
  across in front of it (occlusions and disocclusions every frame).

Each frame averages four sub-frame positions (motion blur, as a real shutter gives) and the clip is
written as H.264 at CRF 18, so the codec's noise is there too.

    python benchmarks/motion_clip.py [-o benchmarks/results/motion_clip.mp4] [--size 640x360]
"""

from __future__ import annotations

import argparse
import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from _common import IMAGES, RESULTS

FRAMES = 150
CUT = 75
FPS = 24
SUBFRAMES = 4


def _photo(name: str) -> npt.NDArray[np.float32]:
    image = cv2.imread(str(IMAGES / "content" / name), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {IMAGES / 'content' / name}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32)


def _view(
    photo: npt.NDArray[np.float32],
    centre: tuple[float, float],
    width: float,
    angle: float,
    size: tuple[int, int],
) -> npt.NDArray[np.float32]:
    """The part of ``photo`` a camera sees: ``width`` photo pixels across, centred at ``centre``,
    rolled by ``angle`` degrees, resampled to ``size`` (width, height)."""
    out_w, out_h = size
    scale = out_w / width
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[0, 2] += out_w / 2 - centre[0]
    matrix[1, 2] += out_h / 2 - centre[1]
    return np.asarray(
        cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT), np.float32
    )


def _shot_one(photo: npt.NDArray[np.float32], t: float, size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """t in [0, 1): an accelerating pan from left to right, a slow zoom, a hand-held shake."""
    height, width = photo.shape[:2]
    view_width = width * (0.42 - 0.1 * t)
    travel = t * t * 0.6 + 0.25 * t
    x = width * 0.25 + travel * width * 0.55
    y = height * 0.5 + 18 * math.sin(2 * math.pi * 3.1 * t) + 9 * math.sin(2 * math.pi * 7.3 * t)
    angle = 1.5 * math.sin(2 * math.pi * 2.3 * t)
    return _view(photo, (x, y), view_width, angle, size)


def _card(photo: npt.NDArray[np.float32], height: int) -> npt.NDArray[np.float32]:
    card_h = height // 2
    card_w = round(card_h * photo.shape[1] / photo.shape[0])
    card = cv2.resize(photo, (card_w, card_h), interpolation=cv2.INTER_AREA)
    cv2.rectangle(card, (0, 0), (card_w - 1, card_h - 1), (245, 245, 240), 4)
    return np.asarray(card, np.float32)


def _shot_two(
    photo: npt.NDArray[np.float32], card: npt.NDArray[np.float32], t: float, size: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """t in [0, 1): zoom in on the lion while rolling; a card slides across from right to left."""
    height, width = photo.shape[:2]
    view_width = width * (0.9 - 0.45 * t)
    frame = _view(photo, (width * 0.5, height * 0.45), view_width, 12 * t - 6, size)
    card_h, card_w = card.shape[:2]
    left = round(size[0] - (size[0] + card_w) * t)
    top = round(size[1] * 0.35 + 30 * math.sin(2 * math.pi * 1.5 * t))
    x0, x1 = max(left, 0), min(left + card_w, size[0])
    y0, y1 = max(top, 0), min(top + card_h, size[1])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = card[y0 - top : y1 - top, x0 - left : x1 - left]
    return frame


def frames(size: tuple[int, int]) -> list[npt.NDArray[np.uint8]]:
    taj, lion, boat = _photo("taj_mahal.jpg"), _photo("lion.jpg"), _photo("sailboat.jpg")
    card = _card(boat, size[1])
    made = []
    for index in range(FRAMES):
        shot_index, length = (index, CUT) if index < CUT else (index - CUT, FRAMES - CUT)
        moments = [(shot_index + k / SUBFRAMES) / length for k in range(SUBFRAMES)]
        if index < CUT:
            stack = [_shot_one(taj, t, size) for t in moments]
        else:
            stack = [_shot_two(lion, card, t, size) for t in moments]
        made.append(np.clip(np.round(np.mean(stack, axis=0)), 0, 255).astype(np.uint8))
    return made


def write(path: Path, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "medium"}
        for image in frames(size):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def ensure(size: tuple[int, int] = (640, 360)) -> Path:
    """The clip at ``size``, made once into the results folder."""
    path = RESULTS / f"motion_clip_{size[0]}x{size[1]}.mp4"
    return path if path.exists() else write(path, size)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--output", type=Path, default=None)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    path = write(args.output, (width, height)) if args.output else ensure((width, height))
    print(path)


if __name__ == "__main__":
    main()
