"""Find the text in a picture (`--protect-text`, `--mask text`): lines of letters as quadrilaterals, and a
soft mask over them.

The detector is PP-OCRv6's small text-detection network (PaddleOCR, Apache-2.0; a DB "differentiable
binarisation" network), the ONNX file inside the `rapidocr` 3.10.0 wheel. brushwork opens that file with
onnxruntime itself, checks its sha256 and keeps the session for the life of the process; none of
rapidocr's code runs (its constructor alone takes over a second, and its default settings can reach a
download path). Detection only: no words are read.

The network sees the picture at its own size, up to :data:`DETECT_SIDE` pixels on the long side (larger
pictures are searched on a copy that size), padded to a multiple of 32. Its map of "text here" is cut at
:data:`THRESHOLD`; each piece becomes the smallest rotated rectangle around it, kept when the map's mean
over the rectangle is at least :data:`BOX_SCORE`, and grown by :data:`UNCLIP` times its area over its
perimeter (the network marks the middle of each line, not its whole height), as PaddleOCR does; then
pieces too tall or too square to be a line of text are dropped (see :data:`MAX_HEIGHT`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from brushwork.errors import UserInputError

FloatArray = npt.NDArray[np.float32]

PACKAGE, MODEL = "rapidocr", "PP-OCRv6_det_small.onnx"
MODEL_SHA256 = "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"
INSTALL = "pip install rapidocr==3.10.0"
# Long side of the picture the detector sees: text 1 % of a 4K picture's height is 11-15 px there, which it
# still finds; the cost grows with the area (BENCHMARKS.md §14). Not more: above about 2000 px the network's
# map fades out on large plain areas (rapidocr caps its input at 2000 px too).
DETECT_SIDE = 1920
THRESHOLD, BOX_SCORE, UNCLIP = 0.3, 0.5, 1.6  # PaddleOCR's and rapidocr's defaults
MIN_SIDE = 3  # pieces thinner than this on the detector's copy are noise
# The network also lights up some things that are not text: a cup and saucer, a lion's mane, a ship's
# sails (blobs a quarter to all of the picture's short side high) and single square patches (a tower, a
# window). A line is kept when it is at most MAX_HEIGHT of the picture's short side high and at least
# MIN_ASPECT times as long as it is high; on the benchmark's posters every line is 0.04-0.12 of the
# short side high and 2-11 times as long (a lone letter is therefore missed).
MAX_HEIGHT, MIN_ASPECT = 0.2, 1.5
MEAN, STD = 0.5, 0.5
# The mask: each line's rectangle grown by MARGIN times its height on every side, and feathered over
# FEATHER times the median line height.
MARGIN, FEATHER = 0.15, 0.25


class DetectorMissing(UserInputError):
    """The text detector's model file is missing or not the expected file."""


@dataclass(frozen=True)
class TextLine:
    """One line of text: the four corners (x, y) of its rotated rectangle in the picture's pixels, in
    order around it, and its height (the rectangle's short side) in pixels."""

    corners: tuple[tuple[float, float], ...]
    height: float


def model_path() -> Path:
    """Where the detector's ONNX file is, inside the installed rapidocr package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise DetectorMissing(f"finding text needs the {PACKAGE} package's detector: {INSTALL}")
    return Path(spec.origin).parent / "models" / MODEL


@cache
def _load(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise DetectorMissing("finding text needs onnxruntime: pip install onnxruntime") from None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DetectorMissing(
            f"the text detector {path} cannot be read ({error.strerror}): {INSTALL}"
        ) from None
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise DetectorMissing(
            f"the text detector {path} is not the expected file (wrong checksum): {INSTALL}"
        )
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _session() -> Any:
    return _load(model_path())


def text_map(rgb: npt.NDArray[np.floating], side: int = DETECT_SIDE) -> tuple[FloatArray, float]:
    """The network's map of text (float32, at most ``side`` px on the long side) for an (H, W, 3)
    picture in [0, 1], and the scale from the picture to the map."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    height, width = rgb.shape[:2]
    scale = min(1.0, side / max(height, width))
    work = np.asarray(rgb, np.float32)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        work = np.asarray(cv2.resize(work, size, interpolation=cv2.INTER_AREA), np.float32)
    h, w = work.shape[:2]
    padded_h, padded_w = max(32, -(-h // 32) * 32), max(32, -(-w // 32) * 32)
    bgr = (np.clip(work[..., ::-1], 0, 1) - MEAN) / STD  # the network was trained on BGR
    tensor = np.zeros((1, 3, padded_h, padded_w), np.float32)
    tensor[0, :, :h, :w] = bgr.transpose(2, 0, 1)
    session = _session()
    found = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    return np.ascontiguousarray(np.asarray(found, np.float32)[0, 0, :h, :w]), scale


def find_text(rgb: npt.NDArray[np.floating], side: int = DETECT_SIDE) -> list[TextLine]:
    """The lines of text in an (H, W, 3) picture in [0, 1], top to bottom; [] when there are none."""
    found, scale = text_map(rgb, side)
    bitmap = cv2.dilate((found > THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    lines = []
    for contour in contours:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < MIN_SIDE:
            continue
        grow = UNCLIP * rw * rh / (2 * (rw + rh))  # PaddleOCR's unclip distance for a rectangle
        high, long = min(rw, rh) + 2 * grow, max(rw, rh) + 2 * grow
        if high > MAX_HEIGHT * min(found.shape) or long < MIN_ASPECT * high:
            continue
        inside = np.zeros(found.shape, np.uint8)  # the map's mean over the rectangle, as PaddleOCR scores
        cv2.fillPoly(inside, [np.rint(cv2.boxPoints(((cx, cy), (rw, rh), angle))).astype(np.int32)], 1)
        if float(cv2.mean(found, inside)[0]) < BOX_SCORE:
            continue
        rect = ((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle)
        corners = cv2.boxPoints(rect) / scale
        lines.append(TextLine(tuple((float(x), float(y)) for x, y in corners), min(rect[1]) / scale))
    return sorted(lines, key=lambda line: min(y for _, y in line.corners))


def text_mask(shape: tuple[int, int], lines: list[TextLine]) -> FloatArray:
    """A float32 mask of the given (H, W) shape: 1 over each line grown by a margin tied to its height,
    0 elsewhere, feathered over a quarter of the median line height; all 0 without lines."""
    height, width = shape
    mask = np.zeros((height, width), np.float32)
    if not lines:
        return mask
    for line in lines:
        corners = np.array(line.corners, np.float32)
        centre = corners.mean(axis=0)
        # every corner moves away from the centre along both of the rectangle's sides
        edge_a, edge_b = corners[1] - corners[0], corners[3] - corners[0]
        unit_a = edge_a / max(1e-6, float(np.linalg.norm(edge_a)))
        unit_b = edge_b / max(1e-6, float(np.linalg.norm(edge_b)))
        grown = []
        for corner in corners:
            offset = corner - centre
            grown.append(
                corner
                + MARGIN
                * line.height
                * (np.sign(offset @ unit_a) * unit_a + np.sign(offset @ unit_b) * unit_b)
            )
        cv2.fillPoly(mask, [np.rint(np.array(grown)).astype(np.int32)], 1.0, cv2.LINE_AA)
    sigma = max(0.5, FEATHER * float(np.median([line.height for line in lines])) / 2.5631)
    blurred = cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
    return np.clip(np.maximum(mask, np.asarray(blurred, np.float32)), 0.0, 1.0)
