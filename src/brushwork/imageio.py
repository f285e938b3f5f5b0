"""Reading and writing images as float32 sRGB arrays.

`read_image` accepts JPEG, PNG, WebP, TIFF, BMP and GIF files, applies the EXIF orientation, converts
embedded colour profiles to sRGB and keeps 16-bit precision where the file has it. `write_image`
writes atomically (see :mod:`brushwork.outputs`): a temporary file in the target directory is renamed
over the target only once it is complete. Pillow cannot hold 16-bit RGB images, so 16-bit RGB(A) files
are read in two passes (high and low bytes) and written by the small PNG and TIFF encoders at the end
of this module.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import logging
import os
import struct
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

import numpy as np
import numpy.typing as npt
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageCms,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from brushwork import outputs
from brushwork.errors import ImageReadError, SettingsError, UserInputError

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS: int = 100_000_000  # decompression-bomb guard

FloatArray = npt.NDArray[np.float32]
Encoder = Callable[[IO[bytes]], None]

# Image.open(formats=...) only knows plugins that have been imported; JPEG covers multi-picture (MPO) files.
_READ_PLUGINS = (
    BmpImagePlugin,
    GifImagePlugin,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)
_READ_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")
_WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
_ICC_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")
_ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)

# For 16-bit RGB(A) data Pillow keeps only the high byte of each sample; decoding the same tiles with
# the opposite byte order yields the low bytes. "N" (native order) comes from libtiff.
_NATIVE_SWAP = "B" if sys.byteorder == "little" else "L"
_LOW_BYTE_RAWMODES = {
    f"{mode};16{order}": f"{mode};16{swapped}"
    for mode in ("RGB", "RGBA", "RGBX")
    for order, swapped in (("B", "L"), ("L", "B"), ("N", _NATIVE_SWAP))
}
_GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")

# EXIF orientation -> the numpy equivalent of PIL.ImageOps.exif_transpose.
_ORIENTATIONS: dict[int, Callable[[npt.NDArray[Any]], npt.NDArray[Any]]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


@dataclass(frozen=True)
class Picture:
    """A decoded image: sRGB colour and optional straight (unpremultiplied) alpha, both in [0, 1]."""

    rgb: FloatArray  # (H, W, 3)
    alpha: FloatArray | None  # (H, W), or None when the file has no alpha
    bits: int  # 8 or 16: the precision of the source samples

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.float32:
            raise ValueError(f"rgb must be a float32 (H, W, 3) array, not {self.rgb.dtype} {self.rgb.shape}")
        if self.alpha is not None and (
            self.alpha.shape != self.rgb.shape[:2] or self.alpha.dtype != np.float32
        ):
            raise ValueError(f"alpha must be a float32 {self.rgb.shape[:2]} array")
        if self.bits not in (8, 16):
            raise ValueError(f"bits must be 8 or 16, not {self.bits}")

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as Pillow reports sizes."""
        return self.width, self.height


# --------------------------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode an image file to float32 sRGB; raise ImageReadError for anything unusable."""
    name = os.fspath(path)
    with _open_file(name) as fh, _pillow_errors(name):
        im = Image.open(fh, formats=_READ_FORMATS)
        _check_dimensions(name, im.size, max_pixels)
        colour, alpha, bits = _decode(im, fh, name)
        rgb, bits = _to_srgb(colour, bits, im.info.get("icc_profile"), name)
        orientation = _orientation(im)
    return Picture(
        rgb=_oriented(rgb, orientation),
        alpha=None if alpha is None else _oriented(alpha, orientation),
        bits=bits,
    )


def _open_file(name: str) -> IO[bytes]:
    if os.path.isdir(name):
        raise ImageReadError(f"cannot read {name!r}: it is a directory, not an image file")
    try:
        fh = open(name, "rb")  # noqa: SIM115 - returned to the caller's with-statement
    except FileNotFoundError:
        raise ImageReadError(f"cannot read {name!r}: no such file") from None
    except PermissionError:
        raise ImageReadError(f"cannot read {name!r}: permission denied") from None
    except OSError as e:
        raise ImageReadError(f"cannot read {name!r}: {_one_line(e)}") from e
    if os.fstat(fh.fileno()).st_size == 0:
        fh.close()
        raise ImageReadError(f"cannot read {name!r}: the file is empty")
    return fh


@contextlib.contextmanager
def _pillow_errors(name: str) -> Iterator[None]:
    """Turn Pillow's exceptions into one-line ImageReadErrors; silence its decompression-bomb warning."""
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check replaces the warning; Pillow's hard error still applies above 2x.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except UserInputError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageReadError(f"cannot read {name!r}: image is too large: {_one_line(e)}") from e
    except UnidentifiedImageError:
        raise ImageReadError(
            f"cannot read {name!r}: not a JPEG, PNG, WebP, TIFF, BMP or GIF image, or the file is damaged"
        ) from None
    except _PILLOW_ERRORS as e:
        detail = _one_line(e)
        truncated = "truncated" in detail.lower()
        problem = "file is truncated" if truncated else f"image data is damaged ({detail})"
        raise ImageReadError(f"cannot read {name!r}: {problem}") from e


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _check_dimensions(name: str, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageReadError(f"cannot read {name!r}: image has zero width or height ({width}x{height})")
    if width * height > max_pixels:
        raise ImageReadError(
            f"cannot read {name!r}: image is {width}x{height} = {width * height} pixels, "
            f"more than the limit of {max_pixels}"
        )


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except _PILLOW_ERRORS:
        log.debug("ignoring unreadable EXIF data", exc_info=True)
        return 1
    return value if isinstance(value, int) else 1


def _oriented(array: FloatArray, orientation: int) -> FloatArray:
    transpose = _ORIENTATIONS.get(orientation)
    return np.ascontiguousarray(array if transpose is None else transpose(array))


def _decode(im: ImageFile.ImageFile, fh: IO[bytes], name: str) -> tuple[FloatArray, FloatArray | None, int]:
    """Return (colour, alpha, bits); colour is (H, W, C) in [0, 1] with C = 1 (grey), 3 (RGB) or 4 (CMYK)."""
    if _low_byte_tiles(im) is not None:
        return _decode_rgb16(im, fh)
    im.load()
    if im.mode in _GREY16_MODES:
        grey = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
        return _scaled(grey[..., None], 65535), _key_alpha(grey, im.info.get("transparency")), 16
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)[..., None], None, 16
    converted = _as_8bit(im, name)
    samples = np.asarray(converted)
    if converted.mode in ("LA", "RGBA"):
        return _scaled(samples[..., :-1], 255), _scaled(samples[..., -1], 255), 8
    if samples.ndim == 2:
        samples = samples[..., None]
    return _scaled(samples, 255), None, 8


def _as_8bit(im: Image.Image, name: str) -> Image.Image:
    """Convert any other Pillow mode to L, LA, RGB, RGBA or CMYK, turning transparency into alpha."""
    if im.mode in ("L", "LA", "RGB", "RGBA", "CMYK") and "transparency" not in im.info:
        return im
    has_alpha = "transparency" in im.info or im.mode in ("PA", "La", "RGBa")
    target = {"1": "L", "L": "LA", "La": "LA"}.get(im.mode, "RGBA" if has_alpha else "RGB")
    try:
        return im.convert(target)
    except ValueError as e:
        raise ImageReadError(f"cannot read {name!r}: unsupported image mode {im.mode!r}") from e


def _low_byte_tiles(im: ImageFile.ImageFile) -> list[ImageFile._Tile] | None:
    """The tiles that decode the low bytes of a 16-bit RGB(A) PNG or TIFF, or None for other images."""
    if im.format not in ("PNG", "TIFF") or not im.tile:
        return None
    tiles = []
    for tile in im.tile:
        args = (tile.args,) if isinstance(tile.args, str) else tile.args or ()
        low = _LOW_BYTE_RAWMODES.get(args[0]) if args and isinstance(args[0], str) else None
        if low is None or not hasattr(tile, "_replace"):  # Pillow < 11 has plain tuples
            return None
        tiles.append(tile._replace(args=(low, *args[1:])))
    return tiles


def _decode_rgb16(im: ImageFile.ImageFile, fh: IO[bytes]) -> tuple[FloatArray, FloatArray | None, int]:
    im.load()
    high = np.asarray(im)
    fh.seek(0)
    with Image.open(fh, formats=[im.format or ""]) as again:
        again.tile = _low_byte_tiles(again) or []
        again.load()
        low = np.asarray(again)
    samples = high.astype(np.uint16) << 8 | low.astype(np.uint16)
    if samples.shape[2] == 4:
        return _scaled(samples[..., :3], 65535), _scaled(samples[..., 3], 65535), 16
    return _scaled(samples, 65535), _key_alpha(samples, im.info.get("transparency")), 16


def _key_alpha(samples: npt.NDArray[Any], key: object) -> FloatArray | None:
    """Alpha from a PNG tRNS colour key: transparent exactly where the samples equal the key."""
    if isinstance(key, int):
        key = (key,)
    if not isinstance(key, tuple) or len(key) != (samples.shape[2] if samples.ndim == 3 else 1):
        return None
    opaque = ~np.all(samples.reshape(*samples.shape[:2], -1) == np.array(key), axis=-1)
    return _scaled(opaque, 1)


def _scaled(samples: npt.NDArray[Any], maxval: int) -> FloatArray:
    return samples.astype(np.float32) / np.float32(maxval)


def _to_srgb(colour: FloatArray, bits: int, icc: object, name: str) -> tuple[FloatArray, int]:
    """Convert (H, W, C) colour to (H, W, 3) sRGB using the embedded ICC profile, if any."""
    transform = _icc_transform(icc, _colour_mode(colour), name) if isinstance(icc, bytes) and icc else None
    if transform is None:
        return _plain_rgb(colour), bits
    if bits == 16:
        log.info("%s: converting the colour profile to sRGB at 8-bit precision", name)
    return _scaled(np.asarray(transform.apply(_image8(colour))), 255), 8


def _colour_mode(colour: FloatArray) -> str:
    return {1: "L", 3: "RGB", 4: "CMYK"}[colour.shape[2]]


def _image8(colour: FloatArray) -> Image.Image:
    height, width = colour.shape[:2]
    return Image.frombytes(_colour_mode(colour), (width, height), _quantized(colour, 8).tobytes())


def _plain_rgb(colour: FloatArray) -> FloatArray:
    channels = colour.shape[2]
    if channels == 1:
        return np.repeat(colour, 3, axis=2)
    if channels == 4:  # CMYK without a profile: Pillow's naive conversion
        return _scaled(np.asarray(_image8(colour).convert("RGB")), 255)
    return colour


def _icc_transform(icc: bytes, mode: str, name: str) -> ImageCms.ImageCmsTransform | None:
    """A transform from the profile to sRGB, or None when the profile is unusable or already sRGB."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        transform = ImageCms.buildTransform(profile, _srgb_profile(), mode, "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        log.warning("%s: ignoring unusable ICC profile (%s); assuming sRGB", name, _one_line(e))
        return None
    return None if mode != "CMYK" and _is_identity(transform, mode) else transform


def _is_identity(transform: ImageCms.ImageCmsTransform, mode: str) -> bool:
    """True when the transform changes no colour by more than one 8-bit step (an sRGB profile)."""
    levels = np.arange(0, 256, 15, dtype=np.uint8)
    if mode == "L":
        probe = levels[None, :]
        expected = np.repeat(probe[..., None], 3, axis=2)
    else:
        expected = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
        probe = expected
    result = np.asarray(transform.apply(Image.fromarray(probe)))
    return bool(np.abs(result.astype(np.int16) - expected).max() <= 1)


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@cache
def _srgb_icc_bytes() -> bytes:
    return _srgb_profile().tobytes()


# --------------------------------------------------------------------------------------------- writing


def check_output_path(path: str | os.PathLike[str]) -> str:
    """Check that an image can be written at path; return its Pillow format name (e.g. "PNG").

    The extension must name a format; the location is checked by :func:`brushwork.outputs.check_output`
    without creating anything (shells call that themselves first, with the run's inputs)."""
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    fmt = _WRITE_FORMATS.get(extension)
    if fmt is None:
        problem = f"unsupported file extension {extension!r}" if extension else "no file extension"
        supported = ", ".join(sorted(_WRITE_FORMATS))
        raise UserInputError(f"cannot write {name!r}: {problem} (supported: {supported})")
    outputs.check_output(name, probe=False)
    return fmt


def write_image(
    path: str | os.PathLike[str],
    rgb: npt.NDArray[np.floating[Any]],
    *,
    alpha: npt.NDArray[np.floating[Any]] | None = None,
    bits: int = 8,
    metadata: Mapping[str, str] | None = None,
    quality: int = 95,
) -> None:
    """Write (H, W, 3) sRGB values in [0, 1] (clipped) atomically; the format comes from the extension.

    Alpha is kept for PNG, WebP and TIFF and flattened onto white for JPEG and BMP. `bits=16` is for PNG
    and TIFF only. `metadata` becomes PNG text chunks, or the EXIF/TIFF ImageDescription for JPEG, WebP
    and TIFF. `quality` (1-100) applies to JPEG and WebP.
    """
    name = os.fspath(path)
    fmt = check_output_path(name)
    if bits not in (8, 16):
        raise SettingsError(f"cannot write {name!r}: bits must be 8 or 16, not {bits}")
    if bits == 16 and fmt not in ("PNG", "TIFF"):
        raise UserInputError(f"cannot write {name!r}: 16-bit output needs a .png, .tif or .tiff file")
    if not 1 <= quality <= 100:
        raise SettingsError(f"cannot write {name!r}: quality must be between 1 and 100, not {quality}")
    colour, opacity = _checked_pixels(rgb, alpha)
    if opacity is not None and fmt not in _ALPHA_FORMATS:
        log.warning("%s: %s has no alpha channel; flattening onto white", name, fmt)
        colour, opacity = colour * opacity[..., None] + (1 - opacity[..., None]), None
    samples = _quantized(colour if opacity is None else np.dstack([colour, opacity]), bits)
    outputs.write_atomically(name, _encoder(fmt, samples, dict(metadata or {}), quality))


def _checked_pixels(
    rgb: npt.NDArray[np.floating[Any]], alpha: npt.NDArray[np.floating[Any]] | None
) -> tuple[FloatArray, FloatArray | None]:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        raise ValueError(f"rgb must have shape (H, W, 3) with H, W >= 1, not {rgb.shape}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ValueError(f"alpha must have shape {rgb.shape[:2]}, not {alpha.shape}")
    return _finite(rgb), None if alpha is None else _finite(alpha)


def _finite(array: npt.NDArray[np.floating[Any]]) -> FloatArray:
    values = np.clip(np.asarray(array, dtype=np.float32), 0.0, 1.0)
    if np.isnan(values).any():
        log.warning("image values contain NaN; writing them as 0")
        values = np.nan_to_num(values, nan=0.0)
    return values


def _quantized(values: FloatArray, bits: int) -> npt.NDArray[Any]:
    """Round [0, 1] values to the nearest 8- or 16-bit integer."""
    maxval, dtype = (255, np.uint8) if bits == 8 else (65535, np.uint16)
    return np.rint(np.clip(values, 0.0, 1.0) * maxval).astype(dtype)


def _encoder(fmt: str, samples: npt.NDArray[Any], metadata: dict[str, str], quality: int) -> Encoder:
    """Prepare everything that can fail on bad input, so that only file output is left for later."""
    description = "; ".join(f"{key}: {value}" for key, value in metadata.items())
    if samples.dtype == np.uint16 and fmt == "PNG":
        text = _png_info(metadata)
        return lambda fh: _write_png16(fh, samples, text)
    if samples.dtype == np.uint16:
        return lambda fh: _write_tiff16(fh, samples, description)
    image = Image.fromarray(samples)
    params: dict[str, Any] = {"icc_profile": _srgb_icc_bytes()} if fmt in _ICC_FORMATS else {}
    if fmt == "PNG":
        params["pnginfo"] = _png_info(metadata)
    elif fmt in ("JPEG", "WEBP"):
        params["quality"] = quality
        if description:
            params["exif"] = _exif_description(description)
    elif fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
        if description:
            params["description"] = description
    return lambda fh: image.save(fh, format=fmt, **params)


def _png_info(metadata: Mapping[str, str]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in metadata.items():
        if not 1 <= len(key) <= 79 or not key.isprintable() or key != key.strip() or max(key) > "\xff":
            raise ValueError(f"invalid PNG text keyword {key!r}: need 1-79 printable Latin-1 characters")
        info.add_text(key, value)  # tEXt, or iTXt when the value is not Latin-1
    return info


def _exif_description(description: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = description  # ImageDescription
    return exif.tobytes()


# ------------------------------------------------------------------------------- 16-bit PNG and TIFF


def _write_png16(fh: IO[bytes], samples: npt.NDArray[np.uint16], text: PngImagePlugin.PngInfo) -> None:
    """A 16-bit RGB (colour type 2) or RGBA (colour type 6) PNG with Paeth-filtered rows."""
    height, width, channels = samples.shape
    fh.write(b"\x89PNG\r\n\x1a\n")
    _png_chunk(fh, b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2 if channels == 3 else 6, 0, 0, 0))
    _png_chunk(fh, b"iCCP", b"sRGB\0\0" + zlib.compress(_srgb_icc_bytes()))
    for chunk_type, data, *_ in text.chunks:
        _png_chunk(fh, chunk_type, data)
    rows = samples.astype(">u2").view(np.uint8).reshape(height, -1)
    compressor = zlib.compressobj(6)
    step = max(1, (1 << 20) // rows.shape[1])
    for start in range(0, height, step):
        data = compressor.compress(_paeth_filtered(rows, start, start + step, bpp=2 * channels))
        if data:
            _png_chunk(fh, b"IDAT", data)
    _png_chunk(fh, b"IDAT", compressor.flush())
    _png_chunk(fh, b"IEND", b"")


def _paeth_filtered(rows: npt.NDArray[np.uint8], start: int, stop: int, bpp: int) -> bytes:
    """Rows [start, stop) with PNG filter type 4 (Paeth), each prefixed by its filter byte."""
    window = rows[max(start - 1, 0) : stop].astype(np.int16)
    if start == 0:
        window = np.vstack([np.zeros((1, rows.shape[1]), np.int16), window])
    up, current = window[:-1], window[1:]
    left = np.zeros_like(current)
    left[:, bpp:] = current[:, :-bpp]
    up_left = np.zeros_like(current)
    up_left[:, bpp:] = up[:, :-bpp]
    estimate = left + up - up_left
    pa, pb, pc = np.abs(estimate - left), np.abs(estimate - up), np.abs(estimate - up_left)
    predicted = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    filtered = ((current - predicted) & 0xFF).astype(np.uint8)
    return np.hstack([np.full((len(filtered), 1), 4, np.uint8), filtered]).tobytes()


def _png_chunk(fh: IO[bytes], chunk_type: bytes, data: bytes) -> None:
    fh.write(struct.pack(">I", len(data)) + chunk_type + data)
    fh.write(struct.pack(">I", zlib.crc32(chunk_type + data)))


def _write_tiff16(fh: IO[bytes], samples: npt.NDArray[np.uint16], description: str) -> None:
    """A little-endian baseline TIFF, 16 bits per sample, Deflate with horizontal differencing."""
    height, width, channels = samples.shape
    rows_per_strip = max(1, (1 << 18) // (width * channels * 2))
    differenced = samples.copy()
    differenced[:, 1:] -= samples[:, :-1]  # predictor 2; uint16 wraps around as TIFF expects
    strips = [
        zlib.compress(differenced[y : y + rows_per_strip].astype("<u2").tobytes(), 6)
        for y in range(0, height, rows_per_strip)
    ]
    offsets, position = [], 8
    for strip in strips:
        offsets.append(position)
        position += len(strip) + len(strip) % 2
    tags: list[tuple[int, int, list[int] | bytes]] = [
        (256, 4, [width]),  # ImageWidth
        (257, 4, [height]),  # ImageLength
        (258, 3, [16] * channels),  # BitsPerSample
        (259, 3, [8]),  # Compression: Adobe Deflate
        (262, 3, [2]),  # PhotometricInterpretation: RGB
        (273, 4, offsets),  # StripOffsets
        (277, 3, [channels]),  # SamplesPerPixel
        (278, 4, [rows_per_strip]),  # RowsPerStrip
        (279, 4, [len(strip) for strip in strips]),  # StripByteCounts
        (282, 5, [72, 1]),  # XResolution
        (283, 5, [72, 1]),  # YResolution
        (284, 3, [1]),  # PlanarConfiguration: contiguous
        (296, 3, [2]),  # ResolutionUnit: inch
        (317, 3, [2]),  # Predictor: horizontal differencing
        (339, 3, [1] * channels),  # SampleFormat: unsigned integer
        (34675, 7, _srgb_icc_bytes()),  # ICC profile
    ]
    if channels == 4:
        tags.append((338, 3, [2]))  # ExtraSamples: unassociated alpha
    if description:
        tags.append((270, 2, description.encode("utf-8") + b"\0"))  # ImageDescription
    fh.write(b"II*\0" + struct.pack("<I", position))
    for strip in strips:
        fh.write(strip + b"\0" * (len(strip) % 2))
    fh.write(_tiff_ifd(sorted(tags, key=lambda tag: tag[0]), position))


def _tiff_ifd(tags: list[tuple[int, int, list[int] | bytes]], position: int) -> bytes:
    """An image file directory at `position`, followed by the values that do not fit in an entry."""
    entries, overflow = bytearray(struct.pack("<H", len(tags))), bytearray()
    overflow_start = position + 2 + 12 * len(tags) + 4
    for code, kind, values in tags:
        if isinstance(values, bytes):
            payload, count = values, len(values)
        else:
            payload = struct.pack("<" + {3: "H", 4: "I", 5: "I"}[kind] * len(values), *values)
            count = len(values) // 2 if kind == 5 else len(values)
        if len(payload) <= 4:
            entries += struct.pack("<HHI", code, kind, count) + payload.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", code, kind, count, overflow_start + len(overflow))
            overflow += payload + b"\0" * (len(payload) % 2)
    return bytes(entries + struct.pack("<I", 0) + overflow)


# -------------------------------------------------------------------------------------------- sizing


def resize(array: npt.NDArray[np.floating[Any]], size: tuple[int, int]) -> FloatArray:
    """Lanczos-resample an (H, W) or (H, W, C) array to size = (width, height); float32 in [0, 1]."""
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"size must be at least (1, 1), not {size}")
    if array.ndim == 2:
        return _resize_plane(array, size)
    if array.ndim == 3:
        planes = [array[..., c] for c in range(array.shape[2])]
        # Pillow lets go of the GIL while it resamples, so large pictures use a thread per plane.
        if array.shape[0] * array.shape[1] >= _PARALLEL_PIXELS:
            planes = list(_resize_pool().map(lambda plane: _resize_plane(plane, size), planes))
        else:
            planes = [_resize_plane(plane, size) for plane in planes]
        return np.stack(planes, axis=-1)
    raise ValueError(f"expected an (H, W) or (H, W, C) array, not shape {array.shape}")


# Pictures with at least this many pixels have their planes resampled in parallel threads.
_PARALLEL_PIXELS = 1 << 18


@cache
def _resize_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=min(3, os.cpu_count() or 1))


def _resize_plane(plane: npt.NDArray[np.floating[Any]], size: tuple[int, int]) -> FloatArray:
    values = np.ascontiguousarray(plane, dtype=np.float32)
    if values.shape[::-1] != size:
        resized = Image.fromarray(values).resize(size, Image.Resampling.LANCZOS)  # mode "F"
        values = np.asarray(resized, dtype=np.float32)
    return np.clip(values, 0.0, 1.0)


def fit_long_side(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Scale (width, height) so that the longer side is long_side, keeping the aspect ratio."""
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"size must be at least (1, 1), not {size}")
    if long_side < 1:
        raise SettingsError(f"the long side must be at least 1 pixel, not {long_side}")
    longer = max(width, height)

    def scaled(side: int) -> int:  # round half up, in integers
        return max(1, (2 * side * long_side + longer) // (2 * longer))

    return scaled(width), scaled(height)
