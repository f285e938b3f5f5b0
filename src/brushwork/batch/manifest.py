"""Manifests: CSV or JSON Lines files that list a batch's items, one row each.

Columns / keys: ``content`` (required); ``style`` or ``styles`` (one path, several joined by ``;``, or a
JSON list; empty: paired from --styles); ``output`` (a name relative to the output folder);
``settings`` (a JSON object of Settings fields); any Settings field as its own column; ``error`` (what
failed.csv adds for people to read; ignored). Relative paths are relative to the manifest's folder.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brushwork.batch.sources import FILE_SETTINGS, Source
from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError

CONTENT_COLUMN, OUTPUT_COLUMN, SETTINGS_COLUMN = "content", "output", "settings"
STYLES_COLUMNS = ("style", "styles")
COMMENT_COLUMNS = frozenset({"error", "error_type", "item"})


def read_manifest(path: Path) -> list[Source]:
    """Rows of a CSV (with a header) or JSON Lines manifest, as sources."""
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
        overrides=_files_from(base, convert_overrides(overrides, where)),
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


def _files_from(base: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """A manifest's init image and masks, like its content and styles, are relative to its folder."""
    for name, words in FILE_SETTINGS.items():
        value = overrides.get(name)
        if isinstance(value, str) and value not in words:
            overrides[name] = str(_resolve(value, base))
        elif isinstance(value, tuple):
            overrides[name] = tuple(v if v in words else str(_resolve(v, base)) for v in value)
    return overrides
