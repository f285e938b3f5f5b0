"""16-bit PNG (OpenCV's libpng), TIFF (tifffile) and JPEG XL (imagecodecs' libjxl).

Pillow handles 8-bit pictures; it cannot hold 16-bit RGB, so deep PNG and TIFF files go through these
libraries. Only the PNG's colour profile and text chunks are added here, spliced in after its header.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from brushwork.codecs.decoded import Decoded, FloatArray

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JXL_SIGNATURES = (b"\xff\x0a", b"\0\0\0\x0cJXL \r\n\x87\n")


def png_bit_depth(head: bytes) -> int:
    """The bit depth in a PNG's IHDR (always the first chunk); 0 when the header is not there."""
    return head[24] if len(head) > 24 and head.startswith(PNG_SIGNATURE) else 0


def read_png16(data: bytes) -> tuple[npt.NDArray[Any], bool]:
    """(H, W, C) samples in RGB order (C = 1, 3 or 4) and whether the last channel is alpha."""
    import cv2

    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ValueError("libpng could not decode the file")
    if decoded.ndim == 2:
        return decoded[..., None], False
    order = [2, 1, 0, 3][: decoded.shape[2]]
    return np.ascontiguousarray(decoded[..., order]), decoded.shape[2] == 4


def encode_png16(samples: npt.NDArray[np.uint16], icc: bytes, text: list[tuple[bytes, bytes]]) -> bytes:
    """A 16-bit RGB(A) PNG with an iCCP chunk and the given (type, data) text chunks."""
    import cv2

    order = [2, 1, 0, 3][: samples.shape[2]]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(samples[..., order]))
    if not ok:
        raise ValueError("libpng could not encode the picture")
    data = encoded.tobytes()
    header_end = len(PNG_SIGNATURE) + 8 + 13 + 4  # the signature and the IHDR chunk
    chunks = [(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc)), *text]
    return data[:header_end] + b"".join(_chunk(*chunk) for chunk in chunks) + data[header_end:]


def _chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def tiff_bits(fh: IO[bytes]) -> int:
    """Bits per sample of the first TIFF page (0 when tifffile cannot tell)."""
    import tifffile

    fh.seek(0)
    try:
        with tifffile.TiffFile(fh) as tif:
            return int(tif.pages.first.bitspersample)
    except (tifffile.TiffFileError, ValueError, IndexError, AttributeError):
        return 0
    finally:
        fh.seek(0)


def read_tiff16(fh: IO[bytes]) -> tuple[npt.NDArray[Any], int]:
    """The first page's samples, (H, W, C), and how many of its channels are colour (1, 3 or 4)."""
    import tifffile

    fh.seek(0)
    with tifffile.TiffFile(fh) as tif:
        page = tif.pages.first
        samples = page.asarray()
        photometric = int(page.photometric)
    samples = samples[..., None] if samples.ndim == 2 else samples
    colours = {2: 3, 5: 4}.get(photometric, 1)  # RGB, separated (CMYK), else minisblack / miniswhite
    if photometric == 0:  # miniswhite
        samples = np.iinfo(samples.dtype).max - samples
    return samples, colours


def encode_tiff(samples: npt.NDArray[Any], icc: bytes, description: str) -> bytes:
    """A TIFF with Deflate compression and horizontal prediction, 8 or 16 bits per sample."""
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(
        out,
        samples,
        photometric="rgb",
        compression="zlib",
        predictor=True,
        extrasamples=("unassalpha",) if samples.shape[2] == 4 else None,
        iccprofile=icc,
        description=description or None,
        metadata=None,
        resolution=(72, 72),
        resolutionunit="inch",
    )
    return out.getvalue()


def read_jxl(data: bytes) -> Decoded:
    """Samples as libjxl gives them (the picture's colour encoding is taken to be sRGB)."""
    import imagecodecs

    samples = np.asarray(imagecodecs.jpegxl_decode(data))
    samples = samples[..., None] if samples.ndim == 2 else samples
    bits = 8 if samples.dtype == np.uint8 else 16
    values = _unit(samples)
    colours = 3 if samples.shape[2] >= 3 else 1
    alpha = values[..., colours] if samples.shape[2] > colours else None
    return Decoded(colour=np.ascontiguousarray(values[..., :colours]), alpha=alpha, bits=bits)


def encode_jxl(samples: npt.NDArray[Any], quality: int) -> bytes:
    """Lossless at quality 100; otherwise libjxl's distance for the quality (90 is about distance 1)."""
    import imagecodecs

    if quality >= 100:
        return bytes(imagecodecs.jpegxl_encode(samples, lossless=True))
    # libjxl's JxlEncoderDistanceFromQuality
    if quality >= 30:
        distance = 0.1 + (100 - quality) * 0.09
    else:
        distance = 53 / 3000 * quality**2 - 23 / 20 * quality + 25
    return bytes(imagecodecs.jpegxl_encode(samples, distance=distance))


def _unit(samples: npt.NDArray[Any]) -> FloatArray:
    if samples.dtype.kind == "f":
        return np.clip(samples.astype(np.float32), 0.0, 1.0)
    return samples.astype(np.float32) / np.float32(np.iinfo(samples.dtype).max)


def text_chunks(metadata: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """PNG tEXt chunks (iTXt where a value is not Latin-1); keywords are checked by the caller."""
    chunks = []
    for key, value in metadata.items():
        try:
            chunks.append((b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")))
        except UnicodeEncodeError:
            chunks.append((b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")))
    return chunks


def jxl_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG XL's SizeHeader (bare codestream or ISOBMFF container), so that a
    picture past the pixel limit is refused before libjxl allocates it."""
    stream = _jxl_codestream(data)
    if not stream.startswith(b"\xff\x0a"):
        raise ValueError("no JPEG XL codestream header")
    bits = _Bits(stream[2:])
    div8 = bits.read(1)
    height = (bits.read(5) + 1) * 8 if div8 else bits.u32()
    ratio = bits.read(3)
    if ratio:
        numerator, denominator = _JXL_RATIOS[ratio]
        return height * numerator // denominator, height
    return ((bits.read(5) + 1) * 8 if div8 else bits.u32()), height


_JXL_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def _jxl_codestream(head: bytes) -> bytes:
    """The start of the codestream: the data itself, or inside the container's jxlc or first jxlp box."""
    if not head.startswith(JXL_SIGNATURES[1]):
        return head
    position = 0
    while position + 8 <= len(head):
        size, kind = struct.unpack_from(">I4s", head, position)
        header = 8
        if size == 1:  # a 64-bit size follows
            size, header = struct.unpack_from(">Q", head, position + 8)[0], 16
        if kind == b"jxlc":
            return head[position + header : position + header + 32]
        if kind == b"jxlp":
            return head[position + header + 4 : position + header + 36]  # after the part's index
        if size < header:
            break
        position += size
    raise ValueError("no JPEG XL codestream box")


class _Bits:
    """JPEG XL's bit reader: least significant bit first."""

    def __init__(self, data: bytes) -> None:
        self.value, self.position = int.from_bytes(data[:16], "little"), 0

    def read(self, count: int) -> int:
        result = (self.value >> self.position) & ((1 << count) - 1)
        self.position += count
        return result

    def u32(self) -> int:
        """The SizeHeader's U32(1 + u(9), 1 + u(13), 1 + u(18), 1 + u(30))."""
        return 1 + self.read((9, 13, 18, 30)[self.read(2)])
