"""Mask images: read, resized to the output, feathered. (A first version; the regions helper's
module replaces it.)"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from brushwork import imageio
from brushwork.errors import UserInputError

FloatArray = npt.NDArray[np.float32]


def load_mask(path: str, size: tuple[int, int]) -> tuple[FloatArray, str | None]:
    """(H, W) float32 in [0, 1] at ``size``: white paints, black keeps; an alpha channel that is not
    opaque everywhere is the mask. Returns a note when the mask had to be resized."""
    if path in ("subject", "background"):
        raise UserInputError(f"--mask {path} is not available yet")
    picture = imageio.read_image(path)
    if picture.alpha is not None and float(picture.alpha.min()) < 1.0:
        mask = picture.alpha
    else:
        mask = picture.rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    note = None
    if picture.size != size:
        note = f"mask {path} is {picture.size[0]}x{picture.size[1]}; resized to {size[0]}x{size[1]}"
        mask = imageio.resize(mask, size)
    return np.clip(mask, 0.0, 1.0).astype(np.float32), note


def feather(mask: FloatArray, pixels: float) -> FloatArray:
    """Soften the mask's edges over about ``pixels`` pixels (a Gaussian blur, σ = pixels / 2)."""
    if pixels <= 0:
        return mask
    image = Image.fromarray(np.round(mask * 255).astype(np.uint8), mode="L")
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(pixels / 2)), dtype=np.float32) / 255
    return np.clip(blurred, 0.0, 1.0)
