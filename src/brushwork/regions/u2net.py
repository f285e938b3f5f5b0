"""The photo's main subject by a salient-object network: U²-Net-p (Qin et al. 2020, Apache-2.0), the
4.6 MB ONNX file carried in ``regions/models`` (see its LICENCE.md), run with onnxruntime.

The network sees the photo squeezed to 320x320 (ImageNet mean and standard deviation) and answers with a
saliency map, min-max normalised as rembg does. That map is upsampled to the photo's size and its edges
are refined at full resolution with a colour-guided filter (:mod:`brushwork.regions.guided`), so hair
and fine edges follow the photo instead of a blurred 320-pixel outline. The file's checksum is checked
when it is first loaded; the session is kept for the life of the process.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from brushwork.errors import UserInputError
from brushwork.regions.guided import guided_filter

FloatArray = npt.NDArray[np.float32]

MODEL_FILE = Path(__file__).parent / "models" / "u2netp.onnx"
MODEL_MD5 = "8e83ca70e441ab06c318d82300c84806"
INPUT_SIDE = 320
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# A map with more than this share of grey pixels (between 0.1 and 0.9) is unsure; it is asked again
# with the picture in a frame FRAME of its side wide. Chosen on the benchmark's four photos: their
# shares are 0.02 (portrait, cup), 0.06-0.08 (ship) and 0.26-0.42 (lion); framed, the lion's is 0.03.
UNSURE, FRAME = 0.15, 0.1
# A map whose range is below this is flat: nothing stands out (min-max normalising it would amplify noise).
FLAT_RANGE = 0.05
# The guided filter's window, as a fraction of the photo's long side (at least 2 px), and its eps. The
# window must span the upsampled map's blurred edge (about 3 pixels per pixel of upsampling from 320):
# on a sharp disc at 1280 px, half-widths of 4, 8, 12 and 16 px leave 82 %, 62 %, 51 % and 43 % of the
# map's error along the outline. On the hand masks (polygons, a few pixels off themselves) it changes
# IoU by less than 0.002 either way.
GUIDE_RADIUS, GUIDE_EPS = 1 / 100, 1e-4
# Working side of the refinement: larger photos are refined at this size and the result upsampled.
REFINE_SIDE = 2048


class ModelDamaged(UserInputError):
    """The model file shipped with brushwork is missing or not the expected file."""


def runtime_available() -> bool:
    """Whether onnxruntime can be imported (it is a dependency; a broken install falls back to GrabCut)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _session() -> Any:
    return _load(MODEL_FILE)


@cache
def _load(path: Path) -> Any:
    import onnxruntime

    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelDamaged(
            f"the subject model {path} cannot be read ({error.strerror}): reinstall brushwork"
        ) from None
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != MODEL_MD5:
        raise ModelDamaged(f"the subject model {path} is damaged (wrong checksum): reinstall brushwork")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # no warnings on stderr about unused initialisers
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def saliency(rgb: npt.NDArray[np.floating]) -> FloatArray | None:
    """The network's map for an (H, W, 3) picture in [0, 1], at 320x320, min-max normalised to [0, 1];
    None when the map is flat (nothing stands out).

    A subject that fills the frame (the lion) leaves the network unsure: much of its map is grey. Then
    it is asked again with the picture inside a frame of the average colour of its edges, which makes
    the subject an object in a scene again, and the more decided of the two maps is kept."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    # INTER_AREA to shrink; to enlarge a small picture twice or more it repeats pixels, and the network
    # reads the blocks as texture (IoU 0.53 on a 96x128 portrait, 0.96 with cubic interpolation; at
    # 192 px and up INTER_AREA does as well or better, and on the 256-px lion much better)
    enlarge = 2 * max(rgb.shape[:2]) <= INPUT_SIDE
    interpolation = cv2.INTER_CUBIC if enlarge else cv2.INTER_AREA
    resized = cv2.resize(np.asarray(rgb, np.float32), (INPUT_SIDE, INPUT_SIDE), interpolation=interpolation)
    small: FloatArray = np.clip(np.asarray(resized, np.float32), 0, 1).astype(np.float32)
    found = _run(small)
    if found is None or _undecided(found) > UNSURE:
        framed = _run_framed(small)
        if framed is not None and (found is None or _undecided(framed) < _undecided(found)):
            return framed
    return found


def _undecided(found: FloatArray) -> float:
    return float(((found > 0.1) & (found < 0.9)).mean())


def _run_framed(small: FloatArray) -> FloatArray | None:
    side = INPUT_SIDE
    margin = round(FRAME * side)
    edges = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    framed = np.empty((side + 2 * margin, side + 2 * margin, 3), np.float32)
    framed[...] = edges.mean(axis=0)
    framed[margin : margin + side, margin : margin + side] = small
    resized = np.asarray(cv2.resize(framed, (side, side), interpolation=cv2.INTER_AREA), np.float32)
    found = _run(resized)
    if found is None:
        return None
    inner = found[
        round(margin * side / framed.shape[0]) : round((margin + side) * side / framed.shape[0]),
        round(margin * side / framed.shape[1]) : round((margin + side) * side / framed.shape[1]),
    ]
    return _normalised(
        np.asarray(cv2.resize(inner, (side, side), interpolation=cv2.INTER_LINEAR), np.float32)
    )


def _run(small: FloatArray) -> FloatArray | None:
    """The first map for a 320x320 picture in [0, 1], normalised; None when flat."""
    session = _session()
    tensor = ((small - MEAN) / STD).transpose(2, 0, 1)[None]
    name = session.get_inputs()[0].name
    found = np.asarray(session.run(None, {name: np.ascontiguousarray(tensor, np.float32)})[0], np.float32)
    return _normalised(found[0, 0])


def _normalised(found: FloatArray) -> FloatArray | None:
    low, high = float(found.min()), float(found.max())
    if high - low < FLAT_RANGE:
        return None
    return np.asarray((found - low) / (high - low), dtype=np.float32)


def subject_mask(rgb: npt.NDArray[np.floating]) -> FloatArray | None:
    """A float32 (H, W) mask in [0, 1] of the picture's main subject, its edges refined at full
    resolution; None when the network sees nothing that stands out."""
    found = saliency(rgb)
    if found is None:
        return None
    height, width = rgb.shape[:2]
    scale = min(1.0, REFINE_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    guide = np.asarray(rgb, dtype=np.float32)
    if scale < 1:
        guide = np.asarray(cv2.resize(guide, size, interpolation=cv2.INTER_AREA), np.float32)
    rough = np.asarray(cv2.resize(found, size, interpolation=cv2.INTER_LINEAR), np.float32)
    radius = max(2, round(GUIDE_RADIUS * max(size)))
    refined = np.clip(guided_filter(np.clip(guide, 0, 1), rough, radius, GUIDE_EPS), 0.0, 1.0)
    if scale < 1:
        refined = np.asarray(cv2.resize(refined, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
    return np.ascontiguousarray(refined, dtype=np.float32)
