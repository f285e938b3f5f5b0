"""The work folder beside a video's output: finished frames as PNG files (each written atomically) and a
manifest of what they were made from, so that a run stopped by Ctrl-C, a crash or ``kill -9`` continues
where it stopped, and a run with different input, styles or settings is refused."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from brushwork.errors import SettingsError, UserInputError
from brushwork.outputs import write_atomically

MANIFEST = "manifest.json"
LOCK = ".lock"
SUFFIX = ".brushwork-frames"
MANIFEST_VERSION = 1


def work_folder_for(output: str | os.PathLike[str]) -> Path:
    """``OUT.mp4`` → ``OUT.mp4.brushwork-frames`` in the same folder; ``frames/f_%04d.tif`` (a pattern of
    image files) → ``frames.brushwork-frames``."""
    name = os.fspath(output)
    if re.search(r"%0?\d*d", os.path.basename(name)):
        name = os.path.dirname(name) or "."
    path = Path(os.path.abspath(name.rstrip("/" + os.sep)))
    return path.with_name(path.name + SUFFIX)


def file_digest(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_digest(info: Any) -> str:
    """The SHA-256 of a video file, or of an image sequence's frame numbers and files' digests."""
    if info.sequence is None:
        return file_digest(info.path)
    digest = hashlib.sha256()
    for number, path in zip(info.sequence.numbers, info.sequence.files, strict=True):
        digest.update(f"{number}:{file_digest(path)}\n".encode())
    return digest.hexdigest()


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Names of what differs, one level into nested records: e.g. ``settings.strength``."""
    found = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if not prefix and isinstance(before, dict) and isinstance(after, dict):
            found += _differences(before, after, f"{key}.")
        else:
            found.append(prefix + key)
    return found


class WorkFolder:
    """Finished frames ``frame_000000.png`` … and ``manifest.json``; one run at a time (a lock file)."""

    def __init__(self, path: Path, manifest: dict[str, Any], *, restart: bool = False) -> None:
        self.path = path
        # through JSON and back, so that it compares equal to the one on disk (tuples become lists)
        self.manifest = json.loads(json.dumps({"version": MANIFEST_VERSION, **manifest}))
        if restart and path.exists():
            self._check_is_ours()
        self.created = not path.exists()
        path.mkdir(exist_ok=True)
        self._lock = self._acquire_lock()  # before anything is removed: another run may be using it
        try:
            if restart:
                self._clear()
            self._check_manifest()
        except BaseException:
            self.close()
            raise

    def _clear(self) -> None:
        for entry in self.path.iterdir():
            if entry.name != LOCK:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def _check_is_ours(self) -> None:
        leftovers = [entry.name for entry in self.path.iterdir() if entry.name != LOCK]
        if leftovers and not (self.path / MANIFEST).is_file():
            raise UserInputError(f"{self.path} exists but is not a brushwork work folder; move it away")

    def _acquire_lock(self) -> IO[bytes] | None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no protection against two runs at once
            return None
        handle = open(self.path / LOCK, "wb")  # noqa: SIM115 - held open for the run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserInputError(f"another brushwork run is using {self.path}") from None
        return handle

    def _check_manifest(self) -> None:
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            if any(self.path.glob("frame_*.png")):
                raise UserInputError(
                    f"{self.path} holds frames but no manifest; move it away or pass --restart"
                )
            _write_atomic(manifest_path, json.dumps(self.manifest, indent=2, sort_keys=True).encode())
            return
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UserInputError(
                f"cannot read {manifest_path}: {error}; pass --restart to start over"
            ) from None
        if old != self.manifest:
            changed = ", ".join(_differences(old, self.manifest)) or "manifest"
            raise SettingsError(
                f"{self.path} holds frames made with a different {changed}; pass --restart to start over "
                "(or run the command that made them)"
            )

    def frame_path(self, index: int) -> Path:
        return self.path / f"frame_{index:06d}.png"

    def has(self, index: int) -> bool:
        return self.frame_path(index).is_file()

    def load(self, index: int) -> npt.NDArray[Any]:
        """A finished frame: uint8 RGB, or uint16 for a deep (more than 8-bit) clip."""
        import cv2

        data = np.fromfile(self.frame_path(index), dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if image is None or image.ndim != 3:
            raise UserInputError(
                f"cannot read {self.frame_path(index)}: damaged; pass --restart to start over"
            )
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

    def save(self, index: int, rgb: npt.NDArray[Any]) -> None:
        """Write a finished frame (uint8 or uint16 RGB) atomically: after a crash it is whole or absent."""
        import cv2

        bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
        ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise UserInputError(f"cannot write {self.frame_path(index)}")
        _write_atomic(self.frame_path(index), encoded.tobytes())

    def finished(self) -> int:
        """How many frames from the first on are done (frames are finished in order)."""
        count = 0
        while self.has(count):
            count += 1
        return count

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    def encode(fh: IO[bytes]) -> None:
        fh.write(data)

    write_atomically(path, encode)
