"""What a batch is made of: inputs found in folders and manifests (see manifest.py; each input is a
:class:`~brushwork.batch.sources.Source`), their pairing with styles and each item's output name (its
key: keys.py).

Everything here runs in the driver before any work starts, so a mistake (a missing style, a bad
manifest row, two items writing the same file) is reported at once and nothing is written.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from brushwork.batch.manifest import read_manifest
from brushwork.batch.sources import FILE_SETTINGS, VIDEO_EXTENSIONS, Kind, Source
from brushwork.codecs.formats import READ_EXTENSIONS
from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError

Pairing = Literal["all", "random"]

IMAGE_EXTENSIONS = READ_EXTENSIONS  # every format brushwork reads (brushwork.codecs.formats)
MANIFEST_EXTENSIONS = frozenset({".csv", ".jsonl"})
OUTPUT_FORMATS = {
    "png": ".png",
    "jpg": ".jpg",
    "webp": ".webp",
    "tif": ".tif",
    "avif": ".avif",
    "heic": ".heic",
    "jxl": ".jxl",
    "psd": ".psd",
    "exr": ".exr",
}
VIDEO_OUTPUT_SUFFIX = ".mp4"
STATE_DIR = "_brushwork"  # inside the output folder: the ledger, failed.csv and the lock


NOT_MEDIA = "not an image or video file"
NO_VIDEO = "skipped: video support not installed (pip install 'brushwork[video]')"


def video_supported() -> bool:
    """Whether video files can be items: brushwork.video and its extra (PyAV, OpenCV) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(module) is not None for module in ("brushwork.video", "av", "cv2"))


@dataclass(frozen=True)
class Ignored:
    """An input file that is not made into an item, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Item:
    """One unit of work: a content, the style(s) it is painted with, settings, and where it goes."""

    name: str  # the output's path relative to the output folder (posix); unique in a batch
    content: Path
    styles: tuple[Path, ...]
    settings: Settings
    output: Path
    kind: Kind
    key: str = ""


@dataclass(frozen=True)
class Discovery:
    sources: list[Source]
    ignored: list[Ignored]


def setting_files(settings: Settings) -> list[Path]:
    """The files a run's settings make it read besides the content and styles (init image, masks)."""
    files: list[Path] = []
    for name, words in FILE_SETTINGS.items():
        value = getattr(settings, name)
        values = value if isinstance(value, tuple) else () if value is None else (value,)
        files.extend(Path(v) for v in values if v not in words)
    return files


# ------------------------------------------------------------------------------------------ discovery


def discover(
    inputs: Sequence[str | os.PathLike[str]], *, exclude: Path | None = None, video: bool = False
) -> Discovery:
    """Contents from files, folders (recursively, in sorted order) and manifests.

    Files under ``exclude`` (the output folder) are passed over silently, so an output folder inside an
    input folder never feeds itself. Without ``video``, video files are ignored with a reason.
    """
    sources: list[Source] = []
    ignored: list[Ignored] = []
    excluded = exclude.resolve() if exclude is not None else None
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            if excluded is not None and _is_within(path.resolve(), excluded):
                raise UserInputError(f"input folder {str(path)!r} is inside the output folder")
            for file in _walk(path, excluded):
                _classify(file, file.relative_to(path).as_posix(), video, sources, ignored)
        elif path.is_file():
            if path.suffix.lower() in MANIFEST_EXTENSIONS:
                sources.extend(read_manifest(path))
            else:
                _classify(path, path.name, video, sources, ignored)
        else:
            raise UserInputError(f"input {str(path)!r} does not exist")
    return Discovery(sources, ignored)


def _walk(folder: Path, excluded: Path | None) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        if excluded is not None and _is_within(here.resolve(), excluded):
            dirs[:] = []
            continue
        dirs.sort()
        for name in sorted(files):
            yield here / name


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _classify(file: Path, name: str, video: bool, sources: list[Source], ignored: list[Ignored]) -> None:
    suffix = file.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        sources.append(Source(file, name))
    elif suffix in VIDEO_EXTENSIONS:
        if video:
            sources.append(Source(file, name))
        else:
            ignored.append(Ignored(file, NO_VIDEO))
    else:
        ignored.append(Ignored(file, NOT_MEDIA))


def style_files(styles: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Each STYLE is an image or a folder of them (recursively, sorted)."""
    found: list[Path] = []
    for raw in styles:
        path = Path(raw)
        if path.is_dir():
            images = [f for f in _walk(path, None) if f.suffix.lower() in IMAGE_EXTENSIONS]
            if not images:
                raise UserInputError(f"style folder {str(path)!r} holds no images")
            found.extend(images)
        elif path.is_file():
            found.append(path)
        else:
            raise UserInputError(f"style {str(path)!r} does not exist")
    return found


# --------------------------------------------------------------------------------------- pairing, names


def style_name(style: Path) -> str:
    return _safe(style.stem)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "style"


def random_choice(name: str, seed: int, styles: Sequence[Path]) -> Path:
    """The style drawn for a content, from the seed, the content's name and the styles' names alone: so
    the draw does not depend on the order of the inputs or the styles, nor on how many workers run.
    (Rendezvous hashing: adding a style moves only the contents that draw the new one.)"""

    def score(style: Path) -> bytes:
        return hashlib.sha256(f"{seed}\0{name}\0{style_name(style)}\0{style.name}".encode()).digest()

    return max(styles, key=score)


def pair(
    sources: Sequence[Source],
    styles: Sequence[Path],
    *,
    mode: Pairing,
    seed: int,
) -> Iterator[tuple[Source, tuple[Path, ...]]]:
    """(content, styles of one item) for every item: a manifest row's own styles as one blend;
    otherwise every style (``all``) or one drawn per content (``random``)."""
    for source in sources:
        if source.styles:
            yield source, source.styles
        elif not styles:
            where = source.origin or str(source.path)
            raise UserInputError(f"{where}: no style given (use --styles, or a style column in the manifest)")
        elif mode == "all":
            for style in styles:
                yield source, (style,)
        else:
            yield source, (random_choice(source.name, seed, styles),)


def output_name(source: Source, styles: Sequence[Path], suffix: str) -> str:
    """``<relative folder>/<stem>__<style>[+<style>...]<suffix>``, or the manifest's own name."""
    if source.output is not None:
        name = Path(source.output)
        if name.is_absolute() or ".." in name.parts or not name.parts:
            where = source.origin or str(source.path)
            raise UserInputError(f"{where}: output {source.output!r} must be a path inside the output folder")
        return name.as_posix() if name.suffix else f"{name.as_posix()}{suffix}"
    relative = Path(source.name)
    joined = "+".join(style_name(s) for s in styles)
    return (relative.parent / f"{relative.stem}__{joined}{suffix}").as_posix()


def build_items(
    discovery: Discovery,
    styles: Sequence[Path],
    outdir: Path,
    *,
    settings: Settings,
    mode: Pairing,
    seed: int,
    image_suffix: str,
) -> list[Item]:
    """Every item of the batch in input order; two items with one output name are refused."""
    items: list[Item] = []
    seen: dict[str, Source] = {}
    for source, chosen in pair(discovery.sources, styles, mode=mode, seed=seed):
        suffix = VIDEO_OUTPUT_SUFFIX if source.kind == "video" else image_suffix
        name = output_name(source, chosen, suffix)
        if name in seen:
            first = seen[name]
            raise UserInputError(
                f"two items would write {name!r}: {first.path} and {source.path} (rename one, or give "
                "the manifest an output column)"
            )
        seen[name] = source
        try:
            item_settings = settings.replace(**source.overrides)
        except SettingsError as error:
            raise UserInputError(f"{source.origin or source.path}: {error}") from None
        items.append(
            Item(
                name=name,
                content=source.path,
                styles=chosen,
                settings=item_settings,
                output=outdir / name,
                kind=source.kind,
            )
        )
    return items
