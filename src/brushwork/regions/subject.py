"""Find the main subject of a photo (`--mask subject` / `--mask background`) without downloading anything.

Checked in November 2026 for a segmentation model bundled in a well-kept package, for Python 3.11:

- opencv-python-headless / opencv-contrib-python-headless: no DNN model of any kind in the wheels (4.14
  and 5.0); cv2.saliency exists only in the contrib build, which cannot be installed beside the plain
  build (both own the `cv2` package) and would clash with the `video` extra's opencv-python-headless.
- mediapipe 0.10.x (0.10.18 checked) does ship selfie_segmentation.tflite in the
  wheel, but it requires numpy<2 (brushwork runs on numpy 2), jax, jaxlib, protobuf<5 and the GUI
  build opencv-contrib-python; mediapipe 1.x ships no models at all (the Tasks API wants a model
  file). Its selfie model only knows people anyway.
- rembg downloads its models (u2net ...) on first use.

So the subject is found by OpenCV's GrabCut (colour models + graph cut) on a copy at most
:data:`WORK_SIDE` pixels across, seeded by priors rather than a model: the outermost strips of the
top, left and right are background; an ellipse a little below the centre (subjects tend to stand on
the bottom edge) is probably the subject, with a small sure-subject core; everything else is
probably background. Given a box, GrabCut starts from the box instead. When the seeded cut finds
almost nothing or almost everything, a plain centre rectangle is tried instead. (Saliency seeds,
spectral residual and colour contrast against the edges, computed with NumPy and OpenCV, were tried
first: on these photos they lit up texture rather than subjects, so they are not used.)

Measured (benchmarks/bench_subject.py, contact sheet in benchmarks/results/subject.png): IoU 0.90
with the hand-made head-and-shoulders mask of the portrait (face.jpg); 0.2-2.5 s a photo on one core.
By eye: good on the portrait and the sailing ship; the Taj Mahal comes with its reflection in the
pool, Tubingen's houses with the river bank, the Golden Gate with half the bay, the Chicago skyline
without its right-most towers. It fails on the lion (grey on grey, filling the frame): no cut is
believable and the centre ellipse is returned, with a note. It has no notion of what a subject is,
only of colours that differ from the top and side edges; a box, or a mask file, is the way out.
With a box the Taj Mahal comes without its reflection and the Golden Gate's tower alone; in the
lion's box GrabCut still finds nothing, and the whole box is returned, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from brushwork.errors import SettingsError

FloatArray = npt.NDArray[np.float32]

WORK_SIDE = 256  # long side of the copy GrabCut works on
ITERATIONS = 5
BORDER = 0.03  # width of the sure-background strips, as a fraction of the short side
MIN_COVER, MAX_COVER = 0.05, 0.95  # a cut outside these fractions of the picture is not believed
KEEP_PIECE = 0.1  # pieces smaller than this fraction of the largest one are dropped


class Box(NamedTuple):
    """A rectangle in pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Subject:
    """The subject's mask (float32 (H, W) in [0, 1]), how it was found, and a note when the finder
    fell back to a guess (for the caller to show)."""

    mask: FloatArray
    method: Literal["cut", "box", "centre box", "centre ellipse"]
    note: str | None = None


def find_subject(
    rgb: npt.NDArray[np.floating], box: Box | tuple[int, int, int, int] | None = None
) -> FloatArray:
    """A float32 (H, W) mask in [0, 1] that is 1 on the photo's main subject and 0 elsewhere.

    `rgb` is (H, W, 3) in [0, 1]; `box` = (x, y, w, h) in its pixels, if given, contains the subject.
    Edges are soft over about one pixel of the working copy; repeatable (OpenCV's RNG is seeded)."""
    return locate_subject(rgb, box).mask


def locate_subject(
    rgb: npt.NDArray[np.floating], box: Box | tuple[int, int, int, int] | None = None
) -> Subject:
    """find_subject, saying how the mask was found: by the seeded cut ("cut"), within the box ("box"),
    by the fallback cut from a centre rectangle ("centre box") or, when no cut finds a believable
    subject, as the centre ellipse of the priors ("centre ellipse", with a note)."""
    import cv2

    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    checked = None if box is None else _scaled_box(Box(*box), (width, height), scale)
    small = np.asarray(cv2.resize(_bgr8(rgb), size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    found, note = _tidy(_cut(small, checked)), None
    method: Literal["cut", "box", "centre box", "centre ellipse"] = "cut" if checked is None else "box"
    if checked is not None and not found.any():
        found, note = _box_mask(found.shape, checked), "no subject found inside the box: using the whole box"
    if checked is None and not MIN_COVER <= found.mean() <= MAX_COVER:
        found, method = _tidy(_cut(small, _centre_box(*size))), "centre box"
        if not MIN_COVER <= found.mean() <= MAX_COVER:
            found, method = np.isin(_seeds(*size), (cv2.GC_FGD, cv2.GC_PR_FGD)), "centre ellipse"
            note = "no clear subject found: using an ellipse in the middle (a box or a mask file does better)"
    mask = np.asarray(cv2.resize(found.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR))
    return Subject(np.clip(mask, 0.0, 1.0).astype(np.float32), method, note)


def _bgr8(rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    values = np.rint(np.clip(np.asarray(rgb, dtype=np.float32), 0, 1) * 255).astype(np.uint8)
    return np.ascontiguousarray(values[..., ::-1])


def _scaled_box(box: Box, size: tuple[int, int], scale: float) -> Box:
    width, height = size
    if box.w < 2 or box.h < 2 or box.x < 0 or box.y < 0 or box.x + box.w > width or box.y + box.h > height:
        raise SettingsError(
            f"the subject box {box.x},{box.y},{box.w},{box.h} must lie inside the {width}x{height} picture "
            "and be at least 2 pixels wide and high"
        )
    x, y = int(box.x * scale), int(box.y * scale)
    right, bottom = round((box.x + box.w) * scale), round((box.y + box.h) * scale)
    return Box(x, y, max(2, right - x), max(2, bottom - y))


def _centre_box(width: int, height: int) -> Box:
    x, y = round(0.06 * width), round(0.06 * height)
    return Box(x, y, max(2, width - 2 * x), max(2, height - y - 1))


def _cut(bgr: npt.NDArray[np.uint8], box: Box | None) -> npt.NDArray[np.bool_]:
    """GrabCut from the priors described above, or from a box; True where it finds the subject."""
    import cv2

    height, width = bgr.shape[:2]
    if box is None:
        labels = _seeds(width, height)
        mode = cv2.GC_INIT_WITH_MASK
        rect = (0, 0, 0, 0)  # unused with a mask
    else:
        labels = np.zeros((height, width), np.uint8)
        mode = cv2.GC_INIT_WITH_RECT
        rect = (box.x, box.y, min(box.w, width - box.x), min(box.h, height - box.y))
    if min(height, width) < 8:  # too small for colour models: trust the seeds
        return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)) if box is None else _box_mask(labels.shape, box)
    cv2.setRNGSeed(0)  # GrabCut's k-means starts from OpenCV's global RNG
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(bgr, labels, rect, background, foreground, ITERATIONS, mode)
    except cv2.error:  # a flat picture: no colour model can be fitted
        return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)) if box is None else _box_mask(labels.shape, box)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _seeds(width: int, height: int) -> npt.NDArray[np.uint8]:
    import cv2

    labels = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    _ellipse(labels, width, height, (0.32, 0.45), 0.62, cv2.GC_PR_FGD)
    _ellipse(labels, width, height, (0.05, 0.07), 0.5, cv2.GC_FGD)
    strip = max(1, round(BORDER * min(width, height)))
    labels[:strip] = cv2.GC_BGD
    labels[:, :strip] = cv2.GC_BGD
    labels[:, -strip:] = cv2.GC_BGD
    return labels


def _ellipse(
    labels: npt.NDArray[np.uint8], width: int, height: int, axes: tuple[float, float], cy: float, value: int
) -> None:
    import cv2

    centre = (width // 2, int(cy * height))
    half_axes = (max(1, int(axes[0] * width)), max(1, int(axes[1] * height)))
    cv2.ellipse(labels, centre, half_axes, 0, 0, 360, value, -1)


def _box_mask(shape: tuple[int, ...], box: Box) -> npt.NDArray[np.bool_]:
    mask = np.zeros(shape[:2], bool)
    mask[box.y : box.y + box.h, box.x : box.x + box.w] = True
    return mask


def _tidy(found: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Drop small stray pieces and fill holes inside the subject."""
    import cv2

    count, pieces, stats, _ = cv2.connectedComponentsWithStats(found.astype(np.uint8), connectivity=8)
    if count <= 1:
        return found
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= KEEP_PIECE * areas.max()) + 1
    kept = np.isin(pieces, keep)
    # Holes: background pieces that do not touch the border.
    count, holes, _, _ = cv2.connectedComponentsWithStats((~kept).astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
    inner = np.setdiff1d(np.arange(1, count), edge)
    return kept | np.isin(holes, inner)
