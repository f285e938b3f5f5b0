"""What a video input may be: opened only through the demuxers of known video and image formats and
only as a local file (no playlists, no network or pipe protocols, no concatenation lists), within
limits on resolution and duration; and a check that the work folder's frames will fit on the disk."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from brushwork.errors import UserInputError

# FFmpeg demuxers of video files and still images; probing never reaches any other (hls, dash,
# concat, ffconcat, playlists, data: or http: URLs, devices, ...).
KNOWN_DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "gif",
    "mxf",
    "mpegts",
    "mpeg",
    "flv",
    "ivf",
    "yuv4mpegpipe",
    "png_pipe",
    "tiff_pipe",
    "exr_pipe",
    "jpeg_pipe",
    "dpx_pipe",
    "webp_pipe",
)
# given to every avformat_open_input: only these demuxers, only the local-file protocol
OPEN_OPTIONS = {"format_whitelist": ",".join(KNOWN_DEMUXERS), "protocol_whitelist": "file"}


@dataclass(frozen=True)
class Limits:
    """The largest input a run accepts (the defaults are generous; a server may lower them)."""

    max_pixels: int = 8192 * 4352  # a frame: 8K DCI
    max_seconds: float = 4 * 3600.0
    max_frames: int = 500_000


def check_limits(
    name: str, size: tuple[int, int], seconds: float | None, frames: int | None, limits: Limits
) -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise UserInputError(
            f"cannot read {name!r}: its frames are {width}x{height}, more than the {limits.max_pixels:,} "
            "pixels a frame allowed"
        )
    if seconds is not None and seconds > limits.max_seconds:
        raise UserInputError(
            f"cannot read {name!r}: it lasts {seconds:.0f} s, more than the {limits.max_seconds:.0f} s "
            "allowed "
            "(paint part of it with --start/--duration)"
        )
    if frames is not None and frames > limits.max_frames:
        raise UserInputError(
            f"cannot read {name!r}: it has {frames:,} frames, more than the {limits.max_frames:,} allowed "
            "(paint part of it with --start/--duration)"
        )


# a lossless PNG frame in the work folder takes at most about this share of its raw size
PNG_SHARE = 0.75
SPARE_BYTES = 256 * 1024 * 1024  # left free on the disk beside the frames and the output


def frames_bytes(size: tuple[int, int], frames: int, bits: int) -> int:
    """A generous estimate of the work folder's size for ``frames`` frames of ``size`` at ``bits``."""
    width, height = size
    return int(width * height * 3 * (2 if bits > 8 else 1) * PNG_SHARE * frames)


def check_disk_space(folder: str | os.PathLike[str], needed: int) -> None:
    """Raise before any frame is painted when the disk under ``folder`` cannot hold ``needed`` bytes."""
    existing = os.path.abspath(os.fspath(folder))
    while not os.path.isdir(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    free = shutil.disk_usage(existing).free
    if free < needed + SPARE_BYTES:
        raise UserInputError(
            f"not enough disk space in {os.fspath(folder)!r}: the painted frames need about "
            f"{_size(needed)} there and {_size(free)} is free (paint part of the clip with --start/"
            "--duration, a smaller --size, or write the output elsewhere)"
        )


def _size(count: int) -> str:
    return f"{count / 1e9:.1f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"
