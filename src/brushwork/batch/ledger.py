"""The batch's record, written by the driver only: ``ledger.jsonl`` (one line per attempt, appended, so
a killed driver loses at most the line it was writing) and ``failed.csv`` (a manifest of the items
that failed, to run them again)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from brushwork.batch.items import Item
from brushwork.batch.keys import settings_diff

LEDGER_NAME = "ledger.jsonl"
FAILED_NAME = "failed.csv"
FAILED_COLUMNS = ("content", "styles", "output", "settings", "error")


@dataclass(frozen=True)
class History:
    """What earlier runs left: the last status of each item key, and the inputs already noted as ignored."""

    last_status: dict[str, str]
    last_message: dict[str, str]
    ignored: set[str]


def read_history(path: Path) -> History:
    last_status: dict[str, str] = {}
    last_message: dict[str, str] = {}
    ignored: set[str] = set()
    for entry in _entries(path):
        status, key = entry.get("status"), entry.get("key")
        if status == "ignored" and isinstance(entry.get("input"), str):
            ignored.add(entry["input"])
        elif isinstance(status, str) and isinstance(key, str):
            last_status[key] = status
            last_message[key] = f"{entry.get('error_type')}: {entry.get('message')}"
    return History(last_status, last_message, ignored)


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the line a killed driver was writing
                continue
            if isinstance(entry, dict):
                yield entry


class Ledger:
    """Appends one JSON line per event; each line is written whole and flushed at once."""

    def __init__(self, path: Path, run: str) -> None:
        self.path = path
        self.run = run
        self._fh: IO[str] = path.open("a", encoding="utf-8")
        # A driver killed mid-line leaves a fragment: start on a fresh line so this run's first entry parses.
        if self._fh.tell() > 0 and not _ends_with_newline(path):
            self._fh.write("\n")

    def write(self, **entry: Any) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "run": self.run, **entry}
        self._fh.write(json.dumps(record, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def write_failed(path: Path, failed: Iterable[tuple[Item, str]]) -> bool:
    """Write failed.csv (atomically) listing ``(item, message)``; remove it when nothing failed.
    Paths are absolute so the file works as a manifest from anywhere; ``output`` keeps each item's name
    in the output folder, and ``settings`` the fields that differ from the defaults."""
    rows = list(failed)
    if not rows:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FAILED_COLUMNS)
    for item, message in rows:
        styles = [str(s.resolve()) for s in item.styles]
        joined = json.dumps(styles) if any(";" in s for s in styles) else ";".join(styles)
        diff = settings_diff(item.settings)
        writer.writerow(
            [str(item.content.resolve()), joined, item.name, json.dumps(diff) if diff else "", message]
        )
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(buffer.getvalue(), encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return True
