"""Where a job's files live: ``<data-dir>/jobs/<id>/``, every name chosen by the server.

A new job is assembled in ``<data-dir>/incoming/<id>/`` and moved into ``jobs/`` in one rename before
its database row is written, so a crash leaves at worst a folder without a row; :meth:`JobFiles.sweep`
removes those at start-up, with the temporary files of interrupted atomic writes.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

JOB_ID = re.compile(r"[0-9a-f]{32}")

CONTENT = "content.upload"  # the uploaded bytes, as sent
STYLE = "style.upload"
MASK = "mask.upload"  # where to paint, when the job came with a mask image
CONTENT_THUMB = "content.png"  # small copies the server decoded and wrote itself
STYLE_THUMB = "style.png"
PREVIEW = "preview.png"  # the picture so far, while the job runs
RESULT = "result.png"
RESULT_THUMB = "thumb.png"
VIDEO = "video.upload"  # a video job's clip
PHOTOS = "photos"  # a batch job's photos, unpacked (folder)
STYLES = "styles"  # a batch job's paintings (folder)
PAINTINGS = "paintings"  # a batch job's paintings as they are made, with the ledger (folder)
RESULT_ZIP = "result.zip"


def result_video(container: str) -> str:
    """A video job's result, in the container chosen when it was created."""
    return f"result.{container}"


def new_job_id() -> str:
    return secrets.token_hex(16)


def is_job_id(text: str) -> bool:
    return JOB_ID.fullmatch(text) is not None


class JobFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs = root / "jobs"
        self.incoming = root / "incoming"

    def prepare(self) -> None:
        for folder in (self.root, self.jobs, self.incoming):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def folder(self, job_id: str) -> Path:
        if not is_job_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.jobs / job_id

    def path(self, job_id: str, name: str) -> Path:
        return self.folder(job_id) / name

    def staging(self, job_id: str) -> Path:
        if not is_job_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        folder = self.incoming / job_id
        folder.mkdir(mode=0o700)
        return folder

    def publish(self, job_id: str) -> None:
        os.replace(self.incoming / job_id, self.folder(job_id))

    def discard_staging(self, job_id: str) -> None:
        shutil.rmtree(self.incoming / job_id, ignore_errors=True)

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def sweep(self, known: set[str]) -> list[str]:
        """Remove half-made uploads, folders without a job, and temporary files; returns what went."""
        removed: list[str] = []
        for entry in self.incoming.iterdir():
            _remove(entry)
            removed.append(str(entry))
        for entry in self.jobs.iterdir():
            if not entry.is_dir() or entry.name not in known:
                _remove(entry)
                removed.append(str(entry))
                continue
            for temp in entry.glob(".*.tmp"):
                temp.unlink(missing_ok=True)
                removed.append(str(temp))
        return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
