"""What a batch is made of: inputs found in folders and manifests, their pairing with styles, each
item's key and output name.

Everything here runs in the driver before any work starts, so a mistake (a missing style, a bad
manifest row, two items writing the same file) is reported at once and nothing is written.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError

Pairing = Literal["all", "random"]
Kind = Literal["image", "video"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})
MANIFEST_EXTENSIONS = frozenset({".csv", ".jsonl"})
OUTPUT_FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tif": ".tif"}
VIDEO_OUTPUT_SUFFIX = ".mp4"
STATE_DIR = "_brushwork"  # inside the output folder: the ledger, failed.csv and the lock

# Manifest columns besides the Settings fields; "error" is what failed.csv adds for people to read.
CONTENT_COLUMN, OUTPUT_COLUMN, SETTINGS_COLUMN = "content", "output", "settings"
STYLES_COLUMNS = ("style", "styles")
COMMENT_COLUMNS = frozenset({"error", "error_type", "item"})

NOT_MEDIA = "not an image or video file"
NO_VIDEO = "skipped: video support not installed (pip install 'brushwork[video]')"


def video_supported() -> bool:
    """Whether video files can be items: brushwork.video and its extra (PyAV, OpenCV) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(module) is not None for module in ("brushwork.video", "av", "cv2"))


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


# ------------------------------------------------------------------------------------------ manifests


def read_manifest(path: Path) -> list[Source]:
    """Rows of a CSV (with a header) or JSON Lines manifest.

    Columns / keys: ``content`` (required); ``style`` or ``styles`` (one path, several joined by ``;``,
    or a JSON list; empty: paired from --styles); ``output`` (a name relative to the output folder);
    ``settings`` (a JSON object of Settings fields); any Settings field as its own column. Relative
    paths are relative to the manifest's folder.
    """
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            if path.suffix.lower() == ".csv":
                reader = csv.DictReader(fh)
                for row in reader:
                    rows.append((f"{path} line {reader.line_num}", {k: v for k, v in row.items() if k}))
            else:
                for number, line in enumerate(fh, start=1):
                    if line.strip():
                        rows.append((f"{path} line {number}", _json_row(line, path, number)))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserInputError(f"cannot read manifest {str(path)!r}: {error}") from None
    return [_manifest_source(row, where, path.parent) for where, row in rows]


def _json_row(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise UserInputError(f"{path} line {number}: not JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise UserInputError(f"{path} line {number}: expected a JSON object")
    return row


def _manifest_source(row: dict[str, Any], where: str, base: Path) -> Source:
    content = row.get(CONTENT_COLUMN)
    if not isinstance(content, str) or not content.strip():
        raise UserInputError(f"{where}: no content")
    content_path = _resolve(content.strip(), base)
    if not content_path.is_file():
        raise UserInputError(f"{where}: content {content!r} does not exist")
    styles: list[Path] = []
    for column in STYLES_COLUMNS:
        styles.extend(_resolve(s, base) for s in _style_list(row.get(column), where))
    for style in styles:
        if not style.is_file():
            raise UserInputError(f"{where}: style {str(style)!r} does not exist")
    overrides = _settings_json(row.get(SETTINGS_COLUMN), where)
    fields = {f.name for f in dataclasses.fields(Settings)}
    known = {CONTENT_COLUMN, OUTPUT_COLUMN, SETTINGS_COLUMN, *STYLES_COLUMNS, *COMMENT_COLUMNS}
    for column, value in row.items():
        if column in known:
            continue
        if column not in fields:
            raise UserInputError(f"{where}: unknown column {column!r}")
        if value not in ("", None):
            overrides[column] = value
    output = row.get(OUTPUT_COLUMN)
    if output not in (None, "") and not isinstance(output, str):
        raise UserInputError(f"{where}: output must be a file name")
    try:
        name = content_path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        name = content_path.name
    return Source(
        path=content_path,
        name=name,
        styles=tuple(styles),
        overrides=convert_overrides(overrides, where),
        output=output or None,
        origin=where,
    )


def _resolve(text: str, base: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _style_list(value: Any, where: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UserInputError(f"{where}: styles is not a JSON list") from None
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UserInputError(f"{where}: styles must be a path, paths joined by ';', or a list of paths")


def _settings_json(value: Any, where: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UserInputError(f"{where}: settings is not a JSON object") from None
    if not isinstance(value, dict):
        raise UserInputError(f"{where}: settings must be a JSON object")
    return dict(value)


def convert_overrides(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Settings fields from text (CSV cells) or JSON values to their Python types; checked by building
    a Settings from them, so a bad value is reported with the row it came from."""
    hints = typing.get_type_hints(Settings)
    fields = {f.name for f in dataclasses.fields(Settings)}
    converted: dict[str, Any] = {}
    for name, value in values.items():
        if name not in fields:
            raise UserInputError(f"{where}: unknown setting {name!r}")
        try:
            converted[name] = _convert(hints[name], value)
        except (TypeError, ValueError):
            raise UserInputError(f"{where}: bad value {value!r} for setting {name!r}") from None
    try:
        Settings(**converted)
    except SettingsError as error:
        raise UserInputError(f"{where}: {error}") from None
    return converted


def _convert(hint: Any, value: Any) -> Any:
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
            return None
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        items = value.replace(";", " ").replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise TypeError("expected a list")
        return tuple(_convert(args[0], v) for v in items)
    if origin is typing.Literal or hint is str:
        if not isinstance(value, str):
            raise TypeError("expected text")
        return value.strip()
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if hint is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected a whole number")
        return int(value)
    if hint is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return float(value)
    raise TypeError(f"unsupported setting type {hint!r}")


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


# ------------------------------------------------------------------------------------------------ keys


class FileHasher:
    """SHA-256 of files' contents, each file read once per batch."""

    def __init__(self) -> None:
        self._known: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        resolved = path.resolve()
        if resolved not in self._known:
            digest = hashlib.sha256()
            try:
                with resolved.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError as error:
                # An unreadable content still gets a key (its failure is recorded like any other).
                digest.update(f"unreadable: {type(error).__name__}".encode())
            self._known[resolved] = digest.hexdigest()
        return self._known[resolved]


def item_key(item: Item, hasher: FileHasher, *, version: str, bits: int, weights: str | None) -> str:
    """A hash of everything that decides the output: the files' contents (not their names), the
    settings, the output format and bit depth, the weights option and the brushwork version."""
    record = {
        "version": version,
        "kind": item.kind,
        "content": hasher(item.content),
        "styles": [hasher(s) for s in item.styles],
        "settings": _jsonable(item.settings.to_dict()),
        "format": item.output.suffix.lower(),
        "bits": bits,
        "weights": weights,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def settings_diff(settings: Settings) -> dict[str, Any]:
    """The fields that differ from the defaults, as JSON values (for failed.csv)."""
    defaults = _jsonable(Settings().to_dict())
    return {k: v for k, v in _jsonable(settings.to_dict()).items() if defaults[k] != v}


def with_keys(items: Iterable[Item], *, version: str, bits: int, weights: str | None) -> list[Item]:
    hasher = FileHasher()
    return [
        dataclasses.replace(item, key=item_key(item, hasher, version=version, bits=bits, weights=weights))
        for item in items
    ]
