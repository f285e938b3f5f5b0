"""Helpers shared by the batch tests: tiny settings, input folders and ledger reading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from brushwork.batch.worker import read_key
from brushwork.config import Settings

DATA = Path(__file__).parent / "data"
# The feed-forward engine at 32 px: the cheapest real item (about 0.1 s once the networks are loaded).
TINY = Settings(method="fast", size=32)
TINY_FLAGS = ["--method", "fast", "--size", "32"]
# Slower items (optimizations of about a second each) for tests that must catch a worker in one.
SLOW = Settings(size=96, steps=6, coarse_steps=6, pyramid=False)
SLOW_FLAGS = ["--size", "96", "--steps", "6", "--coarse-steps", "6", "--no-pyramid"]
STYLE = DATA / "starry_night.jpg"
SECOND_STYLE = DATA / "the_scream.jpg"


def copy_images(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(DATA / name, folder / name)) for name in names]


def mixed_folder(root: Path) -> Path:
    """Two good photos (one in a subfolder), a truncated JPEG and a text file."""
    folder = root / "photos"
    copy_images(folder, ["tubingen.jpg"])
    copy_images(folder / "trip", ["lion.jpg"])
    data = (DATA / "chicago.jpg").read_bytes()
    (folder / "trip" / "broken.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.txt").write_text("not a picture\n")
    return folder


def ledger(outdir: Path) -> list[dict[str, Any]]:
    path = outdir / "_brushwork" / "ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def attempts(outdir: Path) -> list[dict[str, Any]]:
    return [entry for entry in ledger(outdir) if entry["status"] != "ignored"]


def outputs(outdir: Path) -> dict[str, str | None]:
    """Each output image's name (relative, posix) and the key in its metadata."""
    return {
        p.relative_to(outdir).as_posix(): read_key(p)
        for p in sorted(outdir.rglob("*.png"))
        if "_brushwork" not in p.parts
    }


def stray_files(outdir: Path) -> list[Path]:
    """Temporary files a killed write could leave."""
    return [p for p in outdir.rglob("*") if p.name.endswith(".tmp")]
