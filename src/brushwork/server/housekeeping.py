"""Disk quota and retention: finished jobs (done, failed or cancelled) are removed, oldest first, once
they are older than the retention or the jobs' files pass the quota. A queued or running job is never
removed; when they alone fill the quota, new jobs are refused until room is made."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

from brushwork.server.config import ServerConfig
from brushwork.server.files import JobFiles
from brushwork.server.store import JobStore

log = logging.getLogger(__name__)

TIDY_EVERY_SECONDS = 60.0


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += os.lstat(os.path.join(root, name)).st_size
    return total


class Housekeeper:
    def __init__(self, store: JobStore, files: JobFiles, config: ServerConfig) -> None:
        self.store = store
        self.files = files
        self.config = config
        self._lock = threading.Lock()
        self._last_tidy = 0.0

    def usage(self) -> int:
        """Bytes the jobs' files (and uploads being received) take."""
        return folder_bytes(self.files.jobs) + folder_bytes(self.files.incoming)

    def make_room(self, needed: int) -> bool:
        """Remove finished jobs, oldest first, until ``needed`` more bytes fit in the quota; False when
        they cannot (queued and running jobs fill it)."""
        with self._lock:
            used = self.usage()
            quota = self.config.max_disk_bytes
            if used + needed <= quota:
                return True
            for job in self.store.finished_oldest_first():
                freed = folder_bytes(self.files.folder(job.id))
                if self._remove(job.id, "to keep within the disk quota"):
                    used -= freed
                if used + needed <= quota:
                    return True
            return False

    def expire(self, now: float | None = None) -> list[str]:
        """Remove finished jobs that finished longer ago than the retention; returns their ids."""
        cutoff = (now if now is not None else time.time()) - self.config.keep_hours * 3600
        removed = []
        with self._lock:
            for job in self.store.finished_oldest_first():
                if (job.finished or job.created) > cutoff:
                    break
                if self._remove(job.id, "past the retention"):
                    removed.append(job.id)
        return removed

    def tidy(self, force: bool = False) -> None:
        """Retention and quota, at most once a minute unless ``force``."""
        now = time.monotonic()
        if not force and now - self._last_tidy < TIDY_EVERY_SECONDS:
            return
        self._last_tidy = now
        self.expire()
        self.make_room(0)

    def _remove(self, job_id: str, why: str) -> bool:
        if self.store.delete(job_id) != "deleted":  # running again (or gone) meanwhile
            return False
        self.files.remove(job_id)
        log.info("removed job %s %s", job_id, why)
        return True
