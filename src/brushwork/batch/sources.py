"""One input of a batch, before it is paired with styles: a content file and what a manifest row says
about it. Shared by the folder walk (items.py) and the manifest reader (manifest.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["image", "video"]

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})


@dataclass(frozen=True)
class Source:
    """One content file and the name it goes by: its path relative to the folder or manifest it came
    from (or its file name), which is what the output tree mirrors and what random pairing hashes."""

    path: Path
    name: str  # posix relative path, e.g. "trips/rome/001.jpg"
    styles: tuple[Path, ...] = ()  # fixed by a manifest row; empty: paired from --styles
    overrides: Mapping[str, Any] = field(default_factory=dict)  # per-item settings from a manifest
    output: str | None = None  # output name from a manifest row, relative to the output folder
    origin: str = ""  # "manifest.csv line 3", for error messages

    @property
    def kind(self) -> Kind:
        return "video" if self.path.suffix.lower() in VIDEO_EXTENSIONS else "image"


# Settings that may name a file instead of one of these words.
FILE_SETTINGS: dict[str, frozenset[str]] = {
    "init": frozenset({"content", "noise", "fast"}),
    "mask": frozenset({"subject", "background"}),
    "style_masks": frozenset({"subject", "background"}),
}
