"""Colour profiles: converting pixels between an embedded ICC profile and sRGB in floating point.

LittleCMS (through imagecodecs) does the conversions on float32 values, so 16-bit precision survives
them, unlike Pillow's ImageCms, which works on 8-bit images only. Relative colorimetric intent, the
default of image editors for photographs; colours outside sRGB are clipped on the way to the networks.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

# ICC colour space signatures (header bytes 16-20) -> LittleCMS colour space names and channel counts.
_SPACES = {b"RGB ": ("rgb", 3), b"GRAY": ("gray", 1), b"CMYK": ("cmyk", 4)}


def colour_space(icc: bytes) -> str | None:
    """``"rgb"``, ``"gray"`` or ``"cmyk"``: the space of the profile's device values, or None."""
    space = _SPACES.get(icc[16:20]) if len(icc) >= 128 else None
    return None if space is None else space[0]


def to_srgb(colour: FloatArray, icc: bytes, name: str) -> FloatArray | None:
    """(H, W, C) values in the profile's space -> (H, W, 3) sRGB in [0, 1]; None when the profile is
    unusable (logged) or does not match the channels."""
    space = _SPACES.get(icc[16:20]) if len(icc) >= 128 else None
    if space is None or space[1] != colour.shape[2]:
        log.warning("%s: ignoring an ICC profile that does not fit the image; assuming sRGB", name)
        return None
    converted = _transform(colour, icc, srgb_icc(), space[0], "rgb", name)
    return None if converted is None else np.clip(converted, 0.0, 1.0)


def from_srgb(rgb: FloatArray, icc: bytes, name: str) -> FloatArray:
    """(H, W, 3) sRGB -> the RGB profile's values in [0, 1] (for writing a file in that space)."""
    converted = _transform(rgb, srgb_icc(), icc, "rgb", "rgb", name)
    if converted is None:
        raise ValueError(f"{name}: the colour profile cannot be used for output")
    return np.clip(converted, 0.0, 1.0)


def is_srgb(icc: bytes) -> bool:
    """True when an RGB profile maps every colour within half an 8-bit step of where sRGB does."""
    levels = np.linspace(0.0, 1.0, 18, dtype=np.float32)
    probe = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    converted = _transform(probe, icc, srgb_icc(), "rgb", "rgb", "probe")
    return converted is not None and float(np.abs(converted - probe).max()) <= 0.5 / 255


def describe(icc: bytes) -> str:
    """The profile's own description (e.g. "Adobe RGB (1998)"), or "unnamed profile"."""
    from PIL import ImageCms

    try:
        text = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return "unnamed profile"
    return " ".join(str(text or "").split()) or "unnamed profile"


def _transform(
    values: FloatArray, source: bytes, target: bytes, space: str, target_space: str, name: str
) -> FloatArray | None:
    import imagecodecs

    try:
        converted: npt.NDArray[Any] = imagecodecs.cms_transform(
            np.ascontiguousarray(values if values.shape[2] > 1 else values[..., 0], dtype=np.float32),
            source,
            target,
            colorspace=space,
            outcolorspace=target_space,
            outdtype=np.float32,
        )
    except (imagecodecs.CmsError, ValueError, TypeError) as error:
        log.warning("%s: ignoring an unusable ICC profile (%s); assuming sRGB", name, error)
        return None
    return np.asarray(converted, dtype=np.float32).reshape(*values.shape[:2], -1)


@cache
def srgb_icc() -> bytes:
    """The sRGB profile that brushwork embeds (LittleCMS's built-in, as Pillow makes it)."""
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
