"""Mask images: where to paint. White paints, black keeps the photo, grey is partial.

A mask file is read with :func:`brushwork.imageio.read_image`, so any format brushwork reads works. A
colour mask counts by its luminance (ITU-R BT.601 weights, as Pillow's "L" mode). If the file has an
alpha channel that is not fully opaque, the alpha is the mask instead (opaque paints, transparent
keeps): a cut-out PNG of the subject paints the subject.

"Everything kept" and "everything painted" are judged on the mask as it will be used, that is after
`invert`: a white file with --invert-mask keeps everything and is refused; a black one with
--invert-mask paints everything, which is allowed with a note. A pixel counts as painted above
:data:`BLACK_LEVEL` and as fully painted above :data:`WHITE_LEVEL`, so JPEG noise in a black or white
mask does not change the verdict.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from brushwork import imageio
from brushwork.errors import SettingsError, UserInputError

FloatArray = npt.NDArray[np.float32]

BLACK_LEVEL = 4 / 255  # at or below: black (keep)
WHITE_LEVEL = 251 / 255  # at or above: white (paint)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# A Gaussian blur turns a hard edge into a ramp whose 10 %-90 % width is 2 x 1.2816 sigma.
_RAMP_WIDTH_PER_SIGMA = 2 * 1.2815516


@dataclass(frozen=True)
class LoadedMask:
    """A mask at the output size, float32 (H, W) in [0, 1], and notes for the caller to show."""

    mask: FloatArray
    notes: tuple[str, ...] = ()


def read_mask(
    path: str | os.PathLike[str], size: tuple[int, int] | None = None, *, inverted: bool = False
) -> LoadedMask:
    """Read a mask file, resize it to size = (width, height) if given, and invert it if asked.

    Raises ImageReadError when the file is not a readable image and UserInputError when the mask
    (after inversion) keeps everything."""
    name = os.fspath(path)
    mask = mask_from_picture(imageio.read_image(name))
    notes: list[str] = []
    if size is not None:
        mask, note = fit(mask, size, name)
        if note:
            notes.append(note)
    if inverted:
        mask = invert(mask)
    note = check_coverage(mask, name, inverted=inverted)
    if note:
        notes.append(note)
    return LoadedMask(mask, tuple(notes))


def mask_from_picture(picture: imageio.Picture) -> FloatArray:
    """The alpha channel if the picture has one that is not fully opaque, else the luminance."""
    if picture.alpha is not None and float(picture.alpha.min()) < WHITE_LEVEL:
        return np.ascontiguousarray(picture.alpha, dtype=np.float32)
    return luminance(picture.rgb)


def luminance(rgb: npt.NDArray[np.floating]) -> FloatArray:
    """BT.601 luma of (H, W, 3) sRGB values, clipped to [0, 1]."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    grey: FloatArray = np.asarray(rgb, dtype=np.float32) @ LUMA
    return np.clip(grey, 0.0, 1.0)


def fit(mask: FloatArray, size: tuple[int, int], name: str = "") -> tuple[FloatArray, str | None]:
    """Resize an (H, W) mask to size = (width, height); a note (naming the file) says so when the size
    changed, and that it was stretched when its shape differs from the picture's."""
    height, width = mask.shape
    if (width, height) == tuple(size):
        return np.ascontiguousarray(mask, dtype=np.float32), None
    resized = imageio.resize(mask, size)
    note = f"mask {name + ' ' if name else ''}is {width}x{height}; resized to {size[0]}x{size[1]}"
    if abs(math.log((width / height) / (size[0] / size[1]))) > 0.01:
        note += " (its shape differs from the picture's: stretched to fit)"
    return resized, note


def invert(mask: FloatArray) -> FloatArray:
    """Paint what was kept and keep what was painted."""
    return np.float32(1.0) - np.asarray(mask, dtype=np.float32)


def feather(mask: FloatArray, px: float) -> FloatArray:
    """Soften the mask's edges so that a hard edge ramps from 10 % to 90 % over about px pixels.

    The picture's own border is not treated as an edge (the blur repeats the outermost pixels)."""
    if not math.isfinite(px) or px < 0:
        raise SettingsError(f"feather must be a number of pixels, 0 or more, not {px}")
    values = np.ascontiguousarray(mask, dtype=np.float32)
    if px == 0:
        return values.copy()
    sigma = px / _RAMP_WIDTH_PER_SIGMA
    blurred = cv2.GaussianBlur(values, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
    return np.clip(np.asarray(blurred, dtype=np.float32), 0.0, 1.0)


def check_coverage(mask: FloatArray, name: str = "the mask", *, inverted: bool = False) -> str | None:
    """Refuse a mask that paints nothing; return a note for one that paints everything, else None."""
    which = f"{name} (inverted)" if inverted else name
    if float(mask.max(initial=0.0)) <= BLACK_LEVEL:
        raise UserInputError(f"{which}: the mask keeps everything: nothing to paint")
    if float(mask.min(initial=1.0)) >= WHITE_LEVEL:
        return f"{which}: the mask paints everything"
    return None
