"""Adjustments to the painting after it is made, on float32 (H, W, 3) arrays in [0, 1].

They run in one fixed order, whatever order they were given in: denoise, brightness, contrast,
saturation, hue, sharpen. Noise is removed before anything can amplify it; the tone and colour
changes come next; sharpening is last so that nothing blurs it again.

- brightness, contrast, saturation: factors, 1 leaves the picture as it is, 0 gives black, flat
  grey at the picture's mean luminance, and greyscale. They are Pillow's ImageEnhance blends
  (Brightness, Contrast, Color) computed in float32 rather than on 8-bit images, so that 16-bit
  outputs keep their precision; tests check that they agree with ImageEnhance to within rounding.
- hue: degrees to turn every colour round the colour wheel (red towards yellow for positive
  values), through OpenCV's float HSV conversion.
- sharpen: an unsharp mask of this amount (Pillow's UnsharpMask percent / 100) with a Gaussian of
  :data:`SHARPEN_SIGMA` pixels (OpenCV).
- denoise: 0 to 1, OpenCV's non-local means (fastNlMeansDenoisingColored) with filter strength
  h = :data:`DENOISE_H` x strength. It works on 8-bit pixels, so its change is computed there and
  added to the float picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from brushwork.errors import SettingsError

FloatArray = npt.NDArray[np.float32]

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Pillow's "L" conversion
SHARPEN_SIGMA = 2.0
DENOISE_H = 20.0
ORDER = ("denoise", "brightness", "contrast", "saturation", "hue", "sharpen")
# Allowed ranges and the value that changes nothing.
RANGES: dict[str, tuple[float, float, float]] = {
    "brightness": (0.0, 4.0, 1.0),
    "contrast": (0.0, 4.0, 1.0),
    "saturation": (0.0, 4.0, 1.0),
    "hue": (-180.0, 180.0, 0.0),
    "sharpen": (0.0, 5.0, 0.0),
    "denoise": (0.0, 1.0, 0.0),
}


@dataclass(frozen=True)
class After:
    """What to do to the painting once it is made; the default does nothing."""

    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0
    sharpen: float = 0.0
    denoise: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            low, high, neutral = RANGES[field.name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise SettingsError(f"{field.name} must be a number, not {value!r}")
            if not low <= value <= high:
                raise SettingsError(
                    f"{field.name} must be between {low:g} and {high:g} "
                    f"({neutral:g} changes nothing), not {value}"
                )

    @property
    def is_identity(self) -> bool:
        return not self.describe()

    def describe(self) -> dict[str, Any]:
        """The adjustments that change something, in the order they are applied, for the metadata."""
        return {name: float(getattr(self, name)) for name in ORDER if getattr(self, name) != RANGES[name][2]}


def apply_after(spec: After, rgb: FloatArray) -> FloatArray:
    """Apply every adjustment of spec that changes something, in the order of :data:`ORDER`."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    out = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
    steps = {
        "denoise": denoise,
        "brightness": brightness,
        "contrast": contrast,
        "saturation": saturation,
        "hue": hue,
        "sharpen": sharpen,
    }
    for name, value in spec.describe().items():
        out = steps[name](out, value)
    return out


def brightness(rgb: FloatArray, factor: float) -> FloatArray:
    return _blend(np.zeros_like(rgb), rgb, factor)


def contrast(rgb: FloatArray, factor: float) -> FloatArray:
    mean = float((rgb @ LUMA).mean())
    return _blend(np.full_like(rgb, mean), rgb, factor)


def saturation(rgb: FloatArray, factor: float) -> FloatArray:
    grey = np.repeat((rgb @ LUMA)[..., None], 3, axis=2)
    return _blend(grey, rgb, factor)


def hue(rgb: FloatArray, degrees: float) -> FloatArray:
    import cv2

    hsv = np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2HSV))
    hsv[..., 0] = (hsv[..., 0] + degrees) % 360.0
    return np.clip(np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), dtype=np.float32), 0.0, 1.0)


def sharpen(rgb: FloatArray, amount: float) -> FloatArray:
    import cv2

    values = np.ascontiguousarray(rgb, dtype=np.float32)
    blurred = np.asarray(
        cv2.GaussianBlur(values, (0, 0), SHARPEN_SIGMA, borderType=cv2.BORDER_REFLECT_101), dtype=np.float32
    )
    return np.clip(values + np.float32(amount) * (values - blurred), 0.0, 1.0)


def denoise(rgb: FloatArray, strength: float) -> FloatArray:
    import cv2

    h = DENOISE_H * strength
    if h <= 0:
        return rgb.copy()
    pixels = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    cleaned = cv2.fastNlMeansDenoisingColored(pixels, None, h, h, 7, 21)
    change = (np.asarray(cleaned, dtype=np.float32) - pixels.astype(np.float32)) / 255
    return np.clip(rgb + change, 0.0, 1.0)


def _blend(degenerate: FloatArray, rgb: FloatArray, factor: float) -> FloatArray:
    """Pillow's Image.blend(degenerate, image, factor): factor 0 is degenerate, 1 the image itself."""
    return np.clip(degenerate + np.float32(factor) * (rgb - degenerate), 0.0, 1.0).astype(np.float32)
