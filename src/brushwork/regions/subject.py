"""Find the main subject of a photo (`--mask subject` / `--mask background`) without downloading anything.

The subject is found by U²-Net-p, a salient-object network carried in the project as a 4.6 MB ONNX file
and run with onnxruntime (:mod:`brushwork.regions.u2net`; its edges are refined at full resolution).
Measured (benchmarks/bench_subject.py, BENCHMARKS.md §13): IoU 0.98-0.99 with the hand-made mask of the
portrait, 0.96 on a product shot (a cup on its saucer), 0.73 on the sailing ship (it loses parts of the
blue sails against the blue sky) and, on the lion that fills the frame, its head and upper mane
rather than the whole mane.

OpenCV's GrabCut (colour models + graph cut, seeded by priors) is the fallback: when onnxruntime cannot
be imported (with a note), when the network sees nothing that stands out or only a speck (under
:data:`MIN_NETWORK_COVER` of the picture: a townscape with no one subject), on pictures under
:data:`NETWORK_MIN_SIDE` pixels (too small for it), and always within a
``--subject-box``, where the user has already said where the subject is. It works on a copy at most
:data:`WORK_SIDE` pixels across: the outermost strips of the top, left and right are background; an
ellipse a little below the centre (subjects tend to stand on the bottom edge) is probably the subject,
with a small sure-subject core; everything else is probably background. Given a box, GrabCut starts
from the box instead. When the seeded cut finds almost nothing or almost everything, a plain centre
rectangle is tried instead, and when that fails too, the centre ellipse is returned with a note.
GrabCut scores IoU 0.90 on the portrait and fails on the lion (grey on grey).
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
# Below this long side the network sees too little (IoU 0.34-0.38 on the portrait at 48x64, GrabCut does
# better); from 96x128 on it does well (0.96).
NETWORK_MIN_SIDE = 96
# A network mask smaller than this fraction of the picture is not believed (GrabCut's MIN_COVER): on a
# view with no one subject it picks a house (2 % of Tubingen's riverside, 3 % of the Chicago skyline),
# and GrabCut's colour cut is the better guess there; every photo with a subject in the benchmark is 20 %+.
MIN_NETWORK_COVER = 0.05
KEEP_PIECE = 0.1  # pieces smaller than this fraction of the largest one are dropped


Method = Literal["network", "cut", "box", "centre box", "centre ellipse"]
NO_RUNTIME = "onnxruntime is not installed, so GrabCut found it, less well (pip install onnxruntime)"


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
    method: Method
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
    """find_subject, saying how the mask was found: by the network ("network"), or by GrabCut: the
    seeded cut ("cut"), within the box ("box"), the fallback cut from a centre rectangle ("centre box")
    or, when no cut finds a believable subject, the centre ellipse of the priors ("centre ellipse",
    with a note)."""
    from brushwork.regions import u2net

    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    if box is not None:
        return _grabcut(rgb, box)
    if not u2net.runtime_available():
        found = _grabcut(rgb, None)
        note = NO_RUNTIME if found.note is None else f"{NO_RUNTIME}; {found.note}"
        return Subject(found.mask, found.method, note)
    if max(rgb.shape[:2]) < NETWORK_MIN_SIDE:
        return _grabcut(rgb, None)
    mask = u2net.subject_mask(rgb)
    if mask is None or float((mask > 0.5).mean()) < MIN_NETWORK_COVER:
        return _grabcut(rgb, None)
    return Subject(mask, "network")


def _grabcut(rgb: npt.NDArray[np.floating], box: Box | tuple[int, int, int, int] | None) -> Subject:
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    checked = None if box is None else _scaled_box(Box(*box), (width, height), scale)
    small = np.asarray(cv2.resize(_bgr8(rgb), size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    found, note = _tidy(_cut(small, checked)), None
    method: Method = "cut" if checked is None else "box"
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
