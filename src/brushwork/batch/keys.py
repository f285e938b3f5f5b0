"""Item keys: a hash of everything that decides an item's output, written into the output's metadata
so that a rerun can tell a finished item from one whose inputs or settings changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from brushwork.batch.items import Item, setting_files
from brushwork.config import Settings


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


def item_key(
    item: Item, hasher: FileHasher, *, version: str, bits: int | None, profile: str, weights: str | None
) -> str:
    """A hash of everything that decides the output: the files' contents (not their names), the
    settings, the output format and bit depth, the weights option and the brushwork version."""
    record = {
        "version": version,
        "kind": item.kind,
        "content": hasher(item.content),
        "styles": [hasher(s) for s in item.styles],
        "setting_files": [hasher(f) for f in setting_files(item.settings)],  # masks, init image
        "settings": _jsonable(item.settings.to_dict()),
        "format": item.output.suffix.lower(),
        "bits": bits,
        "profile": profile,
        "weights": weights,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def settings_diff(settings: Settings) -> dict[str, Any]:
    """The fields that differ from the defaults, as JSON values (for failed.csv)."""
    defaults = _jsonable(Settings().to_dict())
    return {k: v for k, v in _jsonable(settings.to_dict()).items() if defaults[k] != v}


def with_keys(
    items: Iterable[Item], *, version: str, bits: int | None, profile: str = "source", weights: str | None
) -> list[Item]:
    hasher = FileHasher()
    return [
        dataclasses.replace(
            item, key=item_key(item, hasher, version=version, bits=bits, profile=profile, weights=weights)
        )
        for item in items
    ]
