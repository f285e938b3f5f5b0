"""Find faces, and make a soft mask over them (to keep faces recognisable, or to paint only them).

The detector is OpenCV's frontal-face Haar cascade ("alt2"), the XML file that the opencv-python-headless 4.x
wheels ship in cv2.data (the 5.0 wheels no longer do, hence the <5 pin). No wheel checked ships the
YuNet face-detector ONNX file. A Haar cascade finds upright, roughly frontal faces; it misses faces in
profile, tilted more than about 20 degrees, or under about 24 pixels across on the working copy, and
its box spans eyebrows to mouth: :func:`face_mask` draws an ellipse as wide as the box and 1.4 times as
tall, raised a little, so that forehead, hair and chin are covered too.
"""

from __future__ import annotations

import os
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

from brushwork.errors import SettingsError
from brushwork.regions.masks import feather as feathered
from brushwork.regions.subject import Box

FloatArray = npt.NDArray[np.float32]

CASCADE = "haarcascade_frontalface_alt2.xml"  # fewer false faces than _default on the test photos
WORK_SIDE = 800  # faces are searched on a copy at most this many pixels across
MIN_FACE = 24  # pixels across on the working copy
NEIGHBOURS = 6  # the cascade's minNeighbors: higher finds fewer false faces and misses more real ones
# The ellipse of face_mask, relative to a detector box: its half-axes and how far up its centre moves.
# Chosen on face.jpg (benchmarks/bench_subject.py): it covers 99.9 % of the head, IoU 0.73 with it.
MASK_HALF_WIDTH, MASK_HALF_HEIGHT, MASK_RAISE = 0.5, 0.7, 0.1


def find_faces(rgb: npt.NDArray[np.floating]) -> list[Box]:
    """Boxes (x, y, w, h) in rgb's pixels around each face found, largest first."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    grey = cv2.cvtColor(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = cv2.equalizeHist(cv2.resize(grey, size, interpolation=cv2.INTER_AREA))
    if min(grey.shape) < MIN_FACE:
        return []
    found = _cascade().detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=NEIGHBOURS, minSize=(MIN_FACE, MIN_FACE)
    )
    boxes = [Box(*(round(int(v) / scale) for v in face)) for face in found]
    return sorted(boxes, key=lambda b: b.w * b.h, reverse=True)


@cache
def _cascade() -> cv2.CascadeClassifier:
    path = os.path.join(cv2.data.haarcascades, CASCADE)  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's face cascade {path} is missing: reinstall opencv-python-headless<5")
    return cascade


def face_mask(shape: tuple[int, int], boxes: list[Box], feather: float = 0.0) -> FloatArray:
    """A float32 mask of the given (H, W) shape: 1 on an ellipse over each face box, 0 elsewhere,
    with edges feathered over about `feather` pixels."""
    height, width = shape
    if height < 1 or width < 1:
        raise ValueError(f"shape must be at least (1, 1), not {shape}")
    if feather < 0:
        raise SettingsError(f"feather must be a number of pixels, 0 or more, not {feather}")
    mask = np.zeros((height, width), np.float32)
    for box in boxes:
        centre = (round(box.x + box.w / 2), round(box.y + box.h / 2 - MASK_RAISE * box.h))
        axes = (max(1, round(MASK_HALF_WIDTH * box.w)), max(1, round(MASK_HALF_HEIGHT * box.h)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return feathered(mask, feather)
