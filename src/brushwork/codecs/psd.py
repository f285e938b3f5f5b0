"""Photoshop files (PSD, PSB) through psd-tools: the flattened composite is read; a layered file is
written (the photo, the painting above it, and the mask as the painting's layer mask)."""

from __future__ import annotations

import io
import struct
from typing import IO

import numpy as np
import numpy.typing as npt

from brushwork.codecs.decoded import Decoded, FloatArray
from brushwork.errors import ImageReadError

SIGNATURE = b"8BPS"
_HEADER = struct.Struct(">4sH6sHIIHH")  # signature, version, reserved, channels, height, width, depth, mode
_MODES = {1: "greyscale", 3: "RGB", 4: "CMYK"}  # the colour modes read (others are named in the error)
_MODE_NAMES = {0: "bitmap", 2: "indexed", 7: "multichannel", 8: "duotone", 9: "Lab"}


def header_size(head: bytes) -> tuple[int, int]:
    """(width, height) from the 26-byte file header, read before anything is decoded."""
    signature, version, _, _, height, width, _, _ = _HEADER.unpack_from(head)
    if signature != SIGNATURE or version not in (1, 2):
        raise ValueError("not a Photoshop file")
    return width, height


def read(fh: IO[bytes], name: str) -> Decoded:
    """The composite Photoshop stored for other programs; refused when the file has none."""
    from psd_tools import PSDImage
    from psd_tools.constants import Resource

    head = fh.read(_HEADER.size)
    fh.seek(0)
    if len(head) < _HEADER.size:
        raise ImageReadError(f"cannot read {name!r}: file is truncated")
    depth, mode = _HEADER.unpack(head)[6:]
    if mode not in _MODES:
        kind = _MODE_NAMES.get(mode, f"mode {mode}")
        raise ImageReadError(f"cannot read {name!r}: Photoshop {kind} files are not supported")
    if depth not in (8, 16):
        raise ImageReadError(f"cannot read {name!r}: {depth}-bit Photoshop files are not supported")
    psd = PSDImage.open(fh)
    if not psd.has_preview():
        raise ImageReadError(
            f"cannot read {name!r}: the Photoshop file holds no flattened composite "
            "(save it with 'Maximize compatibility' on)"
        )
    samples = np.asarray(psd.numpy(), dtype=np.float32)
    samples = samples[..., None] if samples.ndim == 2 else samples
    colours = {1: 1, 3: 3, 4: 4}[mode]
    colour, alpha = samples[..., :colours], samples[..., colours] if samples.shape[2] > colours else None
    if mode == 4:
        colour = 1.0 - colour  # psd-tools keeps Photoshop's convention (1 is no ink); LittleCMS wants 0
    icc = psd.image_resources.get_data(Resource.ICC_PROFILE)
    return Decoded(
        colour=np.ascontiguousarray(colour),
        alpha=None if alpha is None else np.ascontiguousarray(alpha),
        bits=depth,
        icc=icc if isinstance(icc, bytes) and icc else None,
    )


def encode(
    painting: FloatArray,
    alpha: FloatArray | None,
    photo: FloatArray | None,
    mask: FloatArray | None,
    bits: int,
    icc: bytes,
) -> bytes:
    """A layered RGB document: "photo" (when given) beneath "painting", whose layer mask is ``mask``
    (white shows the painting); the transparency of both is ``alpha``. Values are in [0, 1]."""
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.constants import Resource
    from psd_tools.psd.image_resources import ImageResource

    height, width = painting.shape[:2]
    psd = PSDImage.new("RGB", (width, height), depth=16 if bits == 16 else 8)
    psd.image_resources[Resource.ICC_PROFILE] = ImageResource(key=Resource.ICC_PROFILE, data=icc)
    if photo is not None:
        psd.create_pixel_layer_from_array(_with_alpha(photo, alpha), name="photo")
    layer = psd.create_pixel_layer_from_array(_with_alpha(painting, alpha), name="painting")
    if mask is not None:
        layer.create_mask(Image.fromarray(_bytes(mask)))
    out = io.BytesIO()
    psd.save(out)
    return out.getvalue()


def _with_alpha(rgb: FloatArray, alpha: FloatArray | None) -> FloatArray:
    return rgb if alpha is None else np.dstack([rgb, alpha])


def _bytes(values: FloatArray) -> npt.NDArray[np.uint8]:
    return np.rint(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
