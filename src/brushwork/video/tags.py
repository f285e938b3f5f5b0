"""What an editor needs kept from a clip besides its pictures: the colour tags (primaries, transfer,
matrix, range), the timecode, and the container's and video stream's metadata (creation time, reel
and camera names, ...). FFmpeg's numbers for the colour tags, by their FFmpeg names."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from brushwork.errors import UserInputError

UNSPECIFIED = 2  # FFmpeg's AVCOL_*_UNSPECIFIED for primaries, transfer and matrix

PRIMARIES = {
    "bt709": 1, "bt470m": 4, "bt470bg": 5, "smpte170m": 6, "smpte240m": 7, "film": 8, "bt2020": 9,
    "smpte428": 10, "smpte431": 11, "smpte432": 12,
}  # fmt: skip
TRANSFERS = {
    "bt709": 1, "gamma22": 4, "gamma28": 5, "smpte170m": 6, "smpte240m": 7, "linear": 8,
    "iec61966-2-1": 13, "srgb": 13, "bt2020-10": 14, "bt2020-12": 15, "smpte2084": 16, "pq": 16,
    "arib-std-b67": 18, "hlg": 18,
}  # fmt: skip
MATRICES = {"rgb": 0, "bt709": 1, "fcc": 4, "bt470bg": 5, "smpte170m": 6, "smpte240m": 7, "bt2020nc": 9}
RANGES = {"tv": 1, "limited": 1, "pc": 2, "full": 2}
# matrices swscale can convert with (the rest are tagged as given but converted as BT.601)
CONVERTIBLE_MATRICES = {1, 4, 5, 6, 7, 9}


@dataclass(frozen=True)
class ColourTags:
    """FFmpeg's numbers; ``UNSPECIFIED`` (or 0 for the range) where the source does not say."""

    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    matrix: int = UNSPECIFIED
    range: int = 0  # 0 unspecified, 1 tv (limited), 2 pc (full)

    def describe(self) -> dict[str, str | None]:
        return {
            "primaries": _name(PRIMARIES, self.primaries),
            "transfer": _name(TRANSFERS, self.transfer),
            "matrix": _name(MATRICES, self.matrix),
            "range": _name(RANGES, self.range),
        }

    def overridden(
        self, primaries: str | None, transfer: str | None, matrix: str | None, range_: str | None
    ) -> ColourTags:
        """These tags with the ones named on the command line in their place."""
        changes: dict[str, int] = {}
        for field, table, value in (
            ("primaries", PRIMARIES, primaries),
            ("transfer", TRANSFERS, transfer),
            ("matrix", MATRICES, matrix),
            ("range", RANGES, range_),
        ):
            if value is not None:
                if value not in table:
                    raise UserInputError(f"unknown colour {field} {value!r} (choose from {', '.join(table)})")
                changes[field] = table[value]
        return replace(self, **changes)

    @property
    def swscale_matrix(self) -> int | None:
        """The matrix to convert RGB to YUV with: the tagged one, or None (swscale's default, BT.601)."""
        return self.matrix if self.matrix in CONVERTIBLE_MATRICES else None

    @property
    def swscale_range(self) -> int:
        return 2 if self.range == 2 else 1


def _name(table: dict[str, int], value: int) -> str | None:
    return next((name for name, number in table.items() if number == value), None)


def colour_tags(codec_context: Any) -> ColourTags:
    def number(name: str, default: int) -> int:
        value = getattr(codec_context, name, None)
        return default if value is None else int(value)

    return ColourTags(
        primaries=number("color_primaries", UNSPECIFIED),
        transfer=number("color_trc", UNSPECIFIED),
        matrix=number("colorspace", UNSPECIFIED),
        range=number("color_range", 0),
    )


def tag(target: Any, tags: ColourTags) -> None:
    """Set ``tags`` on a codec context or a frame."""
    target.color_primaries = tags.primaries
    target.color_trc = tags.transfer
    target.colorspace = tags.matrix
    target.color_range = tags.range


# container and stream metadata that describe the file written, not the clip: never copied
_NOT_COPIED = {"encoder", "major_brand", "minor_version", "compatible_brands", "duration", "handler_name",
               "vendor_id", "timecode"}  # fmt: skip


def kept_metadata(metadata: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in metadata.items() if key.lower() not in _NOT_COPIED}


def timecode_of(container_metadata: dict[str, str], streams: list[Any]) -> str | None:
    """The clip's start timecode (``HH:MM:SS:FF``, ``;`` for drop-frame) where the file has one."""
    for metadata in [*(stream.metadata for stream in streams), container_metadata]:
        for key, value in metadata.items():
            if key.lower() == "timecode" and value:
                return str(value)
    return None


def shifted_timecode(timecode: str, frames: int, rate: Fraction) -> str | None:
    """``timecode`` moved on by ``frames`` frames (for a clip painted from --start); None where that
    cannot be worked out (drop-frame counting, a malformed timecode)."""
    if frames <= 0:
        return timecode
    drop = ";" in timecode or "." in timecode
    parts = timecode.replace(";", ":").replace(".", ":").split(":")
    try:
        hours, minutes, seconds, count = (int(part) for part in parts)
    except ValueError:
        return None
    base = round(rate) or 1
    if drop:
        return None
    total = ((hours * 60 + minutes) * 60 + seconds) * base + count + frames
    count, total = total % base, total // base
    seconds, total = total % 60, total // 60
    minutes, hours = total % 60, (total // 60) % 24
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{count:02d}"
