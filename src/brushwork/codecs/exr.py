"""OpenEXR through the OpenEXR bindings: scene-linear pictures, tone-mapped for the networks.

The networks see display values in [0, 1], so a linear picture is mapped by Reinhard's global operator
(Reinhard et al. 2002, "Photographic Tone Reproduction"): exposed so that the log-average luminance
lands on middle grey, then ``x / (1 + x)`` and the sRGB curve. The mapping has an exact inverse, which
turns the painting back into linear light when the output is an EXR too. Colours are taken as linear
Rec. 709 / sRGB primaries.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from brushwork.codecs.decoded import FloatArray
from brushwork.errors import ImageReadError

MAGIC = b"\x76\x2f\x31\x01"
MIDDLE_GREY = 0.18
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709
_TOP = 1.0 - 2.0**-20  # mapped values are kept below 1, where the inverse is finite


@dataclass(frozen=True)
class ToneMap:
    """Linear light -> display values: ``srgb(e x / (1 + e x))`` with exposure ``e``."""

    exposure: float

    def forward(self, linear: FloatArray) -> FloatArray:
        exposed = np.maximum(linear, 0.0) * np.float32(self.exposure)
        return encode_srgb(exposed / (1.0 + exposed))

    def inverse(self, display: FloatArray) -> FloatArray:
        mapped = np.minimum(decode_srgb(display), _TOP)
        return (mapped / (1.0 - mapped) / np.float32(self.exposure)).astype(np.float32)

    @classmethod
    def for_picture(cls, linear: FloatArray) -> ToneMap:
        """Middle grey for the picture's log-average luminance (its "key")."""
        luminance = np.maximum(linear, 0.0) @ _LUMA
        key = float(np.exp(np.mean(np.log(1e-4 + luminance))))
        return cls(exposure=MIDDLE_GREY / max(key, 1e-6))


def encode_srgb(linear: FloatArray) -> FloatArray:
    values = np.clip(linear, 0.0, 1.0)
    curve = np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1 / 2.4) - 0.055)
    return np.asarray(curve, dtype=np.float32)


def decode_srgb(encoded: FloatArray) -> FloatArray:
    values = np.clip(encoded, 0.0, 1.0)
    curve = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)
    return np.asarray(curve, dtype=np.float32)


def header_size(head: bytes) -> tuple[int, int]:
    """(width, height) of the data window, from the header alone (nothing decoded)."""
    if head[:4] != MAGIC:
        raise ValueError("not an OpenEXR file")
    position = 8
    while True:
        end = head.index(b"\0", position)
        attribute = head[position:end]
        if not attribute:
            raise ValueError("no dataWindow in the header")
        type_end = head.index(b"\0", end + 1)
        (size,) = struct.unpack_from("<i", head, type_end + 1)
        value = type_end + 5
        if attribute == b"dataWindow":
            x_min, y_min, x_max, y_max = struct.unpack_from("<4i", head, value)
            return x_max - x_min + 1, y_max - y_min + 1
        position = value + size


def read(path: str, name: str) -> tuple[FloatArray, FloatArray | None]:
    """Linear RGB (negative values clipped to 0) and alpha in [0, 1], or None."""
    import OpenEXR

    try:
        channels = OpenEXR.File(path, separate_channels=True).channels()
    except (RuntimeError, ValueError, TypeError) as error:
        raise ImageReadError(f"cannot read {name!r}: image data is damaged ({error})") from None
    planes = {key.rsplit(".", 1)[-1]: value.pixels for key, value in channels.items()}
    if all(key in planes for key in "RGB"):
        rgb = np.dstack([planes[key] for key in "RGB"])
    elif "Y" in planes:
        rgb = np.repeat(np.asarray(planes["Y"])[..., None], 3, axis=2)
    else:
        raise ImageReadError(f"cannot read {name!r}: the OpenEXR file has no R, G, B or Y channels")
    linear = np.nan_to_num(np.maximum(rgb.astype(np.float32), 0.0), posinf=65504.0)
    alpha = planes.get("A")
    return linear, None if alpha is None else np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)


def encode(linear: FloatArray, alpha: FloatArray | None, attributes: dict[str, str]) -> bytes:
    """32-bit float, ZIP-compressed scan lines; ``attributes`` become string header attributes."""
    import OpenEXR

    pixels: dict[str, Any] = {key: np.ascontiguousarray(linear[..., i]) for i, key in enumerate("RGB")}
    if alpha is not None:
        pixels["A"] = np.ascontiguousarray(alpha, dtype=np.float32)
    header: dict[str, Any] = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    header.update(attributes)
    out = io.BytesIO()
    OpenEXR.File(header, pixels).write(out)
    return out.getvalue()
