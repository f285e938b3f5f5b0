"""Image sequences in and out: a folder of frames or a printf pattern (``shot/frame_%04d.exr``), PNG and
TIFF at 8 or 16 bits, OpenEXR as half or full float. Frame numbers are kept: a sequence that starts at
frame 1001 comes back starting at 1001, and a gap in the numbers is a gap in time.

OpenEXR holds linear light by convention, the other formats (and videos) display-encoded values: EXR
frames are encoded with the sRGB curve on the way in and decoded with it on the way out."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from brushwork.errors import UserInputError
from brushwork.video.safety import OPEN_OPTIONS

# extension -> (FFmpeg demuxer, encoder)
IMAGE_FORMATS = {
    ".png": ("png_pipe", "png"),
    ".tif": ("tiff_pipe", "tiff"),
    ".tiff": ("tiff_pipe", "tiff"),
    ".exr": ("exr_pipe", "exr"),
    ".jpg": ("jpeg_pipe", None),
    ".jpeg": ("jpeg_pipe", None),
    ".dpx": ("dpx_pipe", None),
}
WRITABLE = (".png", ".tif", ".tiff", ".exr")
_PATTERN = re.compile(r"%(0?)(\d*)d")


def is_pattern(path: str) -> bool:
    return _PATTERN.search(os.path.basename(path)) is not None


def is_sequence_input(path: str | os.PathLike[str]) -> bool:
    name = os.fspath(path)
    return os.path.isdir(name) or is_pattern(name)


@dataclass(frozen=True)
class ImageSequence:
    """The frames of a sequence found on disk, in order of their numbers."""

    name: str  # as given: a folder or a pattern
    files: tuple[str, ...]
    numbers: tuple[int, ...]
    fps: Fraction

    @property
    def extension(self) -> str:
        return os.path.splitext(self.files[0])[1].lower()


def find_sequence(path: str | os.PathLike[str], fps: Fraction) -> ImageSequence:
    """The frames of a folder (files of one image format, numbered) or of a printf pattern."""
    name = os.fspath(path)
    if os.path.isdir(name):
        folder, matcher = Path(name), None
    else:
        folder = Path(os.path.dirname(name) or ".")
        matcher = _regex(os.path.basename(name))
        if not folder.is_dir():
            raise UserInputError(f"cannot read {name!r}: no folder {str(folder)!r}")
    found: list[tuple[int, str]] = []
    extensions = set()
    for entry in os.scandir(folder):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        extension = os.path.splitext(entry.name)[1].lower()
        if extension not in IMAGE_FORMATS:
            continue
        if matcher is not None:
            match = matcher.fullmatch(entry.name)
            if match is None:
                continue
            number = int(match.group(1))
        else:
            digits = re.search(r"(\d+)\D*$", entry.name)
            if digits is None:
                continue
            number = int(digits.group(1))
        extensions.add(extension.replace(".tiff", ".tif").replace(".jpeg", ".jpg"))
        found.append((number, entry.path))
    if not found:
        raise UserInputError(
            f"cannot read {name!r}: no numbered frames in it ({', '.join(sorted(IMAGE_FORMATS))})"
        )
    if len(extensions) > 1:
        raise UserInputError(f"cannot read {name!r}: it mixes {', '.join(sorted(extensions))} frames")
    found.sort()
    numbers = [number for number, _ in found]
    if len(set(numbers)) != len(numbers):
        raise UserInputError(f"cannot read {name!r}: two frames share a number")
    return ImageSequence(name, tuple(p for _, p in found), tuple(numbers), fps)


def _regex(pattern: str) -> re.Pattern[str]:
    match = _PATTERN.search(pattern)
    assert match is not None
    width = int(match.group(2) or 1)
    digits = rf"(\d{{{width},}})" if match.group(1) else r"(\d+)"
    return re.compile(re.escape(pattern[: match.start()]) + digits + re.escape(pattern[match.end() :]), re.I)


@dataclass(frozen=True)
class Image:
    rgb: npt.NDArray[Any]  # (H, W, 3) uint8, or uint16 when ``deep``
    bits: int  # of the file's samples (32 for float EXR)


def read_image(path: str, *, deep: bool) -> Image:
    """One frame as RGB: uint16 when ``deep``, else uint8."""
    demuxer = IMAGE_FORMATS[os.path.splitext(path)[1].lower()][0]
    try:
        with (
            open(path, "rb") as fh,
            av.open(fh, "r", format=demuxer, options=dict(OPEN_OPTIONS)) as container,
        ):
            frame = next(container.decode(video=0))
            bits = frame.format.components[0].bits
            if demuxer == "exr_pipe":
                rgb = encode_srgb(frame.to_ndarray(format="gbrpf32le"))  # (H, W, 3) in R, G, B order
                if deep:
                    return Image(np.round(rgb * 65535).astype(np.uint16), bits)
                return Image(np.round(rgb * 255).astype(np.uint8), bits)
            array = frame.to_ndarray(format="rgb48le" if deep else "rgb24")
    except (av.error.FFmpegError, OSError, StopIteration, ValueError) as error:
        message = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise UserInputError(f"cannot read {path!r}: {' '.join(str(message).split())}") from error
    return Image(np.ascontiguousarray(array), bits)


def encode_srgb(linear: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Linear light (0–1, clipped) to sRGB-encoded values."""
    x = np.clip(np.nan_to_num(np.asarray(linear, np.float32)), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def decode_srgb(encoded: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    x = np.clip(np.asarray(encoded, np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def sequence_frames(sequence: ImageSequence, *, deep: bool) -> Iterator[tuple[int, npt.NDArray[Any]]]:
    """(frame number, RGB) for each frame, one at a time."""
    for number, path in zip(sequence.numbers, sequence.files, strict=True):
        yield number, read_image(path, deep=deep).rgb


@dataclass(frozen=True)
class FramesOutput:
    """Where a sequence goes: ``folder``/``pattern % number``, at ``bits`` (8, 16; 16 or 32 float for EXR)."""

    folder: str
    pattern: str  # a file name with one %d
    bits: int

    @property
    def extension(self) -> str:
        return os.path.splitext(self.pattern)[1].lower()


def frames_output(path: str, bit_depth: int | None) -> FramesOutput:
    """A folder (``frames/``: PNG named frame_000001.png …) or a pattern (``frames/f_%04d.tif``)."""
    if is_pattern(path):
        folder, pattern = os.path.dirname(path) or ".", os.path.basename(path)
        if len(_PATTERN.findall(pattern)) != 1 or "%" in _PATTERN.sub("", pattern):
            raise UserInputError(
                f"cannot write {path!r}: the frame pattern needs exactly one %d (such as %04d)"
            )
    else:
        folder, pattern = path.rstrip("/" + os.sep) or path, "frame_%06d.png"
    extension = os.path.splitext(pattern)[1].lower()
    if extension not in WRITABLE:
        raise UserInputError(
            f"cannot write {path!r}: frames can be written as {', '.join(WRITABLE)}, "
            f"not {extension or 'no extension'!r}"
        )
    allowed = (16, 32) if extension == ".exr" else (8, 16)
    bits = bit_depth if bit_depth is not None else 0
    if bits and bits not in allowed:
        raise UserInputError(
            f"cannot write {path!r}: {extension} frames hold "
            f"{' or '.join(map(str, allowed))} bits, not {bits}"
        )
    return FramesOutput(folder, pattern, bits)


def encoded_image(rgb: npt.NDArray[Any], extension: str, bits: int) -> bytes:
    """``rgb`` (uint8 or uint16) as the bytes of one image file."""
    height, width = rgb.shape[:2]
    source_format = "rgb48le" if rgb.dtype == np.uint16 else "rgb24"
    encoder = IMAGE_FORMATS[extension][1]
    assert encoder is not None
    options: dict[str, str] = {}
    if extension == ".exr":
        scale = 65535.0 if rgb.dtype == np.uint16 else 255.0
        linear = decode_srgb(rgb.astype(np.float32) / scale)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(linear), format="gbrpf32le")
        pix_fmt = "gbrpf32le"
        options = {"format": "float" if bits == 32 else "half", "compression": "zip16"}
    else:
        if bits == 16 and rgb.dtype == np.uint8:
            rgb = rgb.astype(np.uint16) * 257
        elif bits == 8 and rgb.dtype == np.uint16:
            rgb = np.round(rgb / 257.0).astype(np.uint8)
        source_format = "rgb48le" if rgb.dtype == np.uint16 else "rgb24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=source_format)
        pix_fmt = {"png": "rgb48be", "tiff": "rgb48le"}[encoder] if bits == 16 else "rgb24"
        if encoder == "tiff":
            options = {"compression_algo": "deflate"}
        if pix_fmt != source_format:
            frame = frame.reformat(format=pix_fmt)
    context = av.CodecContext.create(encoder, "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height = width, height
    context.pix_fmt = pix_fmt
    context.time_base = Fraction(1, 25)
    context.options = options
    frame.pts = 0
    packets = [*context.encode(frame), *context.encode(None)]
    return b"".join(bytes(packet) for packet in packets)
