"""Reading and writing images as float32 sRGB arrays.

`read_image` accepts JPEG, PNG, WebP, TIFF, BMP, GIF, AVIF, HEIC/HEIF, JPEG XL, Photoshop (PSD/PSB,
the flattened composite) and OpenEXR files (see :mod:`brushwork.codecs`). It applies the EXIF
orientation and converts embedded colour profiles to sRGB in floating point, keeping 16-bit precision;
the profile of an RGB picture is kept on the :class:`Picture`, so that the result can be converted back
and written in the photo's own colour space. OpenEXR's linear light is tone-mapped, and the mapping is
kept too. Image dimensions are checked against the pixel limit from the header, before decoding.

`write_image` writes atomically (see :mod:`brushwork.outputs`): a temporary file in the target directory
is renamed over the target only once it is complete.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import struct
import warnings
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
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from brushwork import outputs
from brushwork.codecs import exr, formats, icc, psd, raster
from brushwork.codecs.decoded import Decoded
from brushwork.codecs.exr import ToneMap
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
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")
_HEAD_BYTES = 1 << 16  # enough for any OpenEXR header brushwork reads
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)
_GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_READABLE = "a JPEG, PNG, WebP, TIFF, BMP, GIF, AVIF, HEIC, JPEG XL, PSD or OpenEXR image"

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
    """A decoded image: sRGB colour and optional straight (unpremultiplied) alpha, both in [0, 1].

    ``profile`` is the ICC profile of the RGB space the file was in (AdobeRGB, Display P3, ...), None
    for sRGB; ``tonemap`` is how an OpenEXR file's linear light was mapped to ``rgb``."""

    rgb: FloatArray  # (H, W, 3)
    alpha: FloatArray | None  # (H, W), or None when the file has no alpha
    bits: int  # 8 or 16: the precision of the source samples
    profile: bytes | None = None
    tonemap: ToneMap | None = None

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


@dataclass(frozen=True)
class Layers:
    """What a layered output (PSD) holds besides the picture: the photo beneath, in sRGB at the
    picture's size; when a mask was used, the mask (1: the painting shows, 0: the photo) and the
    painting before the mask was applied, which becomes the painting layer."""

    photo: FloatArray
    mask: FloatArray | None = None
    painting: FloatArray | None = None


# --------------------------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode an image file to float32 sRGB; raise ImageReadError for anything unusable."""
    name = os.fspath(path)
    with _open_file(name) as fh, _decode_errors(name):
        head = fh.read(_HEAD_BYTES)
        fh.seek(0)
        if head.startswith(exr.MAGIC):
            return _read_exr(name, head, max_pixels)
        if head.startswith(psd.SIGNATURE):
            formats.check_available(formats.by_name("PSD"), name, "read")
            _check_dimensions(name, psd.header_size(head), max_pixels)
            decoded = psd.read(fh, name)
        elif head.startswith(raster.JXL_SIGNATURES):
            formats.check_available(formats.by_name("JPEG XL"), name, "read")
            data = fh.read()
            _check_dimensions(name, raster.jxl_size(data), max_pixels)
            decoded = raster.read_jxl(data)
        else:
            decoded = _read_with_pillow(fh, head, name, max_pixels)
        rgb, profile = _to_srgb(decoded, name)
    orientation = decoded.orientation
    return Picture(
        rgb=_oriented(rgb, orientation),
        alpha=None if decoded.alpha is None else _oriented(decoded.alpha, orientation),
        bits=decoded.bits,
        profile=profile,
    )


def _read_exr(name: str, head: bytes, max_pixels: int) -> Picture:
    formats.check_available(formats.by_name("OpenEXR"), name, "read")
    _check_dimensions(name, exr.header_size(head), max_pixels)
    linear, alpha = exr.read(name, name)
    tonemap = ToneMap.for_picture(linear)
    return Picture(rgb=tonemap.forward(linear), alpha=alpha, bits=16, tonemap=tonemap)


def _read_with_pillow(fh: IO[bytes], head: bytes, name: str, max_pixels: int) -> Decoded:
    im = Image.open(fh, formats=_pillow_formats())
    _check_dimensions(name, im.size, max_pixels)
    profile = im.info.get("icc_profile")
    profile = profile if isinstance(profile, bytes) and profile else None
    orientation = _orientation(im)
    if im.format == "PNG" and raster.png_bit_depth(head) == 16:
        fh.seek(0)
        colour, alpha = _split_deep(*raster.read_png16(fh.read()), key=im.info.get("transparency"))
        return Decoded(colour, alpha, 16, profile, orientation)
    if im.format == "TIFF" and im.mode not in _GREY16_MODES and raster.tiff_bits(fh) == 16:
        samples, colours = raster.read_tiff16(fh)
        colour, alpha = _split_deep(samples, samples.shape[2] > colours)
        return Decoded(colour, alpha, 16, profile, orientation)
    colour, alpha, bits = _decode(im, name)
    return Decoded(colour, alpha, bits, profile, orientation)


def register_pillow_plugins() -> None:
    """Let ``PIL.Image.open`` read HEIC files too (and AVIF where Pillow has it), as read_image does."""
    _pillow_formats()


@cache
def _pillow_formats() -> tuple[str, ...]:
    """Pillow's own formats, and AVIF and HEIF where their plug-ins import (registered here)."""
    names = list(_PILLOW_FORMATS)
    if formats.available(formats.by_name("AVIF")) is None:
        names.append("AVIF")
    if formats.available(formats.by_name("HEIC")) is None:
        import pillow_heif

        pillow_heif.register_heif_opener()
        names.append("HEIF")
    return tuple(names)


def _split_deep(
    samples: npt.NDArray[Any], has_alpha: bool, key: object = None
) -> tuple[FloatArray, FloatArray | None]:
    """Colour and alpha from (H, W, C) integer samples; a PNG tRNS colour key becomes alpha."""
    maxval = int(np.iinfo(samples.dtype).max)
    if has_alpha:
        return _scaled(samples[..., :-1], maxval), _scaled(samples[..., -1], maxval)
    return _scaled(samples, maxval), _key_alpha(samples, key)


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
def _decode_errors(name: str) -> Iterator[None]:
    """Turn the decoders' exceptions into one-line ImageReadErrors; silence Pillow's bomb warning."""
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
        raise ImageReadError(f"cannot read {name!r}: not {_READABLE}, or the file is damaged") from None
    except (*_PILLOW_ERRORS, RuntimeError, AssertionError) as e:
        detail = _one_line(e)
        truncated = "truncated" in detail.lower() or isinstance(e, EOFError)
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


def _decode(im: ImageFile.ImageFile, name: str) -> tuple[FloatArray, FloatArray | None, int]:
    """Return (colour, alpha, bits); colour is (H, W, C) in [0, 1] with C = 1 (grey), 3 (RGB) or 4 (CMYK)."""
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


def _to_srgb(decoded: Decoded, name: str) -> tuple[FloatArray, bytes | None]:
    """(H, W, 3) sRGB from the decoded colour, and the RGB profile worth converting back to (or None)."""
    colour, profile = decoded.colour, decoded.icc
    if profile is not None:
        space = icc.colour_space(profile)
        if space == "rgb" and colour.shape[2] == 3 and _is_srgb(profile):
            return colour, None
        converted = icc.to_srgb(colour, profile, name)
        if converted is not None:
            return converted, profile if space == "rgb" else None
    return _plain_rgb(colour), None


@cache
def _is_srgb(profile: bytes) -> bool:
    return icc.is_srgb(profile)


def _plain_rgb(colour: FloatArray) -> FloatArray:
    channels = colour.shape[2]
    if channels == 1:
        return np.repeat(colour, 3, axis=2)
    if channels == 4:  # CMYK without a profile: Pillow's naive conversion
        height, width = colour.shape[:2]
        cmyk = Image.frombytes("CMYK", (width, height), _quantized(colour, 8).tobytes())
        return _scaled(np.asarray(cmyk.convert("RGB")), 255)
    return colour


# --------------------------------------------------------------------------------------------- writing


def check_output_path(path: str | os.PathLike[str]) -> str:
    """Check that an image can be written at path; return its format's name (e.g. "PNG").

    The extension must name a format this install writes; the location is checked by
    :func:`brushwork.outputs.check_output` without creating anything (shells call that themselves
    first, with the run's inputs)."""
    name = os.fspath(path)
    fmt = _output_format(name)
    formats.check_available(fmt, name, "write")
    outputs.check_output(name, probe=False)
    return fmt.name


def _output_format(name: str) -> formats.Format:
    extension = os.path.splitext(name)[1].lower()
    fmt = formats.by_extension(extension)
    if fmt is None:
        problem = f"unsupported file extension {extension!r}" if extension else "no file extension"
        supported = ", ".join(sorted(formats.WRITE_EXTENSIONS))
        raise UserInputError(f"cannot write {name!r}: {problem} (supported: {supported})")
    return fmt


def holds_16bit(path: str | os.PathLike[str]) -> bool:
    """Whether the output format named by the extension keeps 16 bits per sample (or more)."""
    fmt = formats.by_extension(os.path.splitext(os.fspath(path))[1])
    return fmt is not None and fmt.holds16


def output_bits(path: str | os.PathLike[str], source_bits: int, requested: int | None = None) -> int:
    """The bits to write: as requested, else the source's where the format holds them, else 8."""
    if requested is not None:
        return requested
    return source_bits if holds_16bit(path) else 8


def write_image(
    path: str | os.PathLike[str],
    rgb: npt.NDArray[np.floating[Any]],
    *,
    alpha: npt.NDArray[np.floating[Any]] | None = None,
    bits: int = 8,
    metadata: Mapping[str, str] | None = None,
    quality: int = 95,
    profile: bytes | None = None,
    tonemap: ToneMap | None = None,
    layers: Layers | None = None,
) -> None:
    """Write (H, W, 3) sRGB values in [0, 1] (clipped) atomically; the format comes from the extension.

    Alpha is kept for PNG, WebP, TIFF, AVIF, HEIC, JPEG XL, PSD and OpenEXR, and flattened onto white
    for JPEG and BMP. `bits=16` is for PNG, TIFF, PSD and JPEG XL (OpenEXR is always 32-bit float).
    `profile` (an RGB ICC profile) converts the colours to that space and embeds it where the format
    holds a profile; otherwise sRGB is embedded. `tonemap` (from an OpenEXR input) is inverted for an
    OpenEXR output, which holds linear light. `layers` adds the photo and the mask beneath the painting
    of a PSD. `metadata` becomes PNG text chunks, OpenEXR header attributes, or the EXIF/TIFF
    ImageDescription for JPEG, WebP, AVIF, HEIC and TIFF. `quality` (1-100) applies to JPEG, WebP, AVIF,
    HEIC and JPEG XL (100: lossless).
    """
    name = os.fspath(path)
    check_output_path(name)
    fmt = _output_format(name)
    if bits not in (8, 16):
        raise SettingsError(f"cannot write {name!r}: bits must be 8 or 16, not {bits}")
    if bits == 16 and not fmt.holds16:
        deep = ", ".join(f.extensions[0] for f in formats.FORMATS if f.holds16 and f.writes)
        raise UserInputError(f"cannot write {name!r}: 16-bit output needs a {deep} file")
    if not 1 <= quality <= 100:
        raise SettingsError(f"cannot write {name!r}: quality must be between 1 and 100, not {quality}")
    colour, opacity = _checked_pixels(rgb, alpha)
    if opacity is not None and not fmt.alpha:
        log.warning("%s: %s has no alpha channel; flattening onto white", name, fmt.name)
        colour, opacity = colour * opacity[..., None] + (1 - opacity[..., None]), None
    if fmt.name == "OpenEXR":
        linear = tonemap.inverse(colour) if tonemap is not None else exr.decode_srgb(colour)
        data = exr.encode(linear, opacity, dict(metadata or {}))
        outputs.write_atomically(name, _writer(data))
        return
    embedded = icc.srgb_icc()
    if profile is not None and fmt.icc:
        colour, embedded = icc.from_srgb(colour, profile, name), profile
    elif profile is not None:
        log.warning("%s: %s holds no colour profile; writing sRGB", name, fmt.name)
    if fmt.name == "PSD":
        data = _psd_bytes(colour, opacity, layers, bits, profile, embedded, name)
        outputs.write_atomically(name, _writer(data))
        return
    samples = _quantized(colour if opacity is None else np.dstack([colour, opacity]), bits)
    outputs.write_atomically(name, _encoder(fmt, samples, dict(metadata or {}), quality, embedded))


def _psd_bytes(
    colour: FloatArray,
    opacity: FloatArray | None,
    layers: Layers | None,
    bits: int,
    profile: bytes | None,
    embedded: bytes,
    name: str,
) -> bytes:
    def in_space(rgb: FloatArray) -> FloatArray:
        return _finite(rgb) if profile is None else icc.from_srgb(_finite(rgb), profile, name)

    photo = mask = None
    if layers is not None:
        photo = in_space(layers.photo)
        if layers.mask is not None and layers.painting is not None:
            colour, mask = in_space(layers.painting), _finite(layers.mask)
    return psd.encode(colour, opacity, photo, mask, bits, embedded)


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


def _encoder(
    fmt: formats.Format, samples: npt.NDArray[Any], metadata: dict[str, str], quality: int, profile: bytes
) -> Encoder:
    """Prepare everything that can fail on bad input, so that only file output is left for later."""
    description = "; ".join(f"{key}: {value}" for key, value in metadata.items())
    if fmt.name == "PNG":
        _check_png_keywords(metadata)
    data: bytes | None = None
    if fmt.name == "PNG" and samples.dtype == np.uint16:
        data = raster.encode_png16(samples, profile, raster.text_chunks(metadata))
    elif fmt.name == "TIFF":
        data = raster.encode_tiff(samples, profile, description)
    elif fmt.name == "JPEG XL":
        data = raster.encode_jxl(samples, quality)
    if data is not None:
        return _writer(data)
    image = Image.fromarray(samples)
    pillow_name = {"HEIC": "HEIF", "WebP": "WEBP"}.get(fmt.name, fmt.name)
    params: dict[str, Any] = {"icc_profile": profile} if fmt.icc else {}
    if fmt.name == "PNG":
        params["pnginfo"] = _png_info(metadata)
    elif fmt.name in ("JPEG", "WebP", "AVIF", "HEIC"):
        params["quality"] = quality
        if description:
            params["exif"] = _exif_description(description)
    # Faster encoder settings than the libraries' defaults, at the same size and error (BENCHMARKS §13).
    if fmt.name == "AVIF":
        params["speed"] = 8
    if fmt.name == "HEIC":
        params["enc_params"] = {"preset": "fast"}  # x265's
        _pillow_formats()  # registers the HEIF plug-in
    return lambda fh: image.save(fh, format=pillow_name, **params)


def _writer(data: bytes) -> Encoder:
    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write


def _check_png_keywords(metadata: Mapping[str, str]) -> None:
    for key in metadata:
        if not 1 <= len(key) <= 79 or not key.isprintable() or key != key.strip() or max(key) > "\xff":
            raise ValueError(f"invalid PNG text keyword {key!r}: need 1-79 printable Latin-1 characters")


def _png_info(metadata: Mapping[str, str]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in metadata.items():
        info.add_text(key, value)  # tEXt, or iTXt when the value is not Latin-1
    return info


def _exif_description(description: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = description  # ImageDescription
    return exif.tobytes()


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
