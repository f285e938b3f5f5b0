"""What a format reader hands back before colour management: the file's own values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Decoded:
    """Samples as stored, scaled to [0, 1]: (H, W, C) colour with C = 1 (grey), 3 (RGB) or 4 (CMYK, 0 is
    no ink), straight alpha or None, the source precision (8 or 16) and the embedded ICC profile."""

    colour: FloatArray
    alpha: FloatArray | None
    bits: int
    icc: bytes | None = None
    orientation: int = 1  # EXIF orientation, applied by the caller
