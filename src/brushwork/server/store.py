"""Jobs in SQLite: one row per job, in WAL mode with full syncs so that a committed state change
survives a crash. Each thread reads through its own connection (WAL readers never wait for the
writer); writes are serialised by a lock and run in ``BEGIN IMMEDIATE`` transactions.

States: ``queued`` → ``running`` → ``done`` | ``failed`` | ``cancelled``. A job found ``running`` when
the server starts was interrupted (the server was killed): :meth:`JobStore.recover` puts it back in
the queue, or fails it with a reason once it has been tried ``max_attempts`` times.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINAL_STATES = frozenset({DONE, FAILED, CANCELLED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    style TEXT NOT NULL,
    settings TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    note TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    width INTEGER,
    height INTEGER,
    kind TEXT NOT NULL DEFAULT 'image',
    options TEXT NOT NULL DEFAULT '{}',
    outcome TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
"""
# Version 2 added what a video or batch job needs: its kind, its own options and what it left.
_ADDED_IN_2 = (
    "ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'image'",
    "ALTER TABLE jobs ADD COLUMN options TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE jobs ADD COLUMN outcome TEXT NOT NULL DEFAULT '{}'",
)
_SCHEMA_VERSION = 2
IMAGE, VIDEO, BATCH = "image", "video", "batch"


@dataclass(frozen=True)
class Job:
    id: str
    state: str
    created: float
    started: float | None
    finished: float | None
    style: str  # a gallery style's id, or "upload"
    settings: dict[str, Any]  # the transfer settings the client chose (Settings fields)
    attempts: int  # runs started, including one cut short by a crash
    cancel_requested: bool
    error: str | None
    note: str | None
    done: int
    total: int
    seconds: float | None
    width: int | None
    height: int | None
    kind: str = IMAGE  # image, video or batch
    options: dict[str, Any] = field(default_factory=dict)  # a video's or batch's own choices
    outcome: dict[str, Any] = field(default_factory=dict)  # e.g. a batch's failed items, a video's notes

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        values = dict(row)
        values["settings"] = json.loads(values["settings"])
        values["options"] = json.loads(values["options"])
        values["outcome"] = json.loads(values["outcome"])
        values["cancel_requested"] = bool(values["cancel_requested"])
        return cls(**values)


DeleteOutcome = Literal["deleted", "running", "missing"]


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        db = self._db()
        db.execute("PRAGMA journal_mode = WAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise RuntimeError(f"{path} was written by a newer brushwork (schema {version})")
        with self._write_lock:
            if version == 1:
                for statement in _ADDED_IN_2:
                    db.execute(statement)
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA busy_timeout = 30000")
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    # ------------------------------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        row = self._db().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else Job.from_row(row)

    def page(self, limit: int, offset: int = 0) -> list[Job]:
        """Newest first."""
        rows = (
            self._db()
            .execute("SELECT * FROM jobs ORDER BY rowid DESC LIMIT ? OFFSET ?", (limit, offset))
            .fetchall()
        )
        return [Job.from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        rows = self._db().execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        counts = dict.fromkeys((QUEUED, RUNNING, DONE, FAILED, CANCELLED), 0)
        counts.update({state: count for state, count in rows})
        return counts

    def ids(self) -> set[str]:
        return {row[0] for row in self._db().execute("SELECT id FROM jobs")}

    def position(self, job: Job) -> int | None:
        """How many queued jobs run before this queued one (0: it is next)."""
        if job.state != QUEUED:
            return None
        row = (
            self._db()
            .execute(
                "SELECT COUNT(*) FROM jobs WHERE state = ? AND rowid < (SELECT rowid FROM jobs WHERE id = ?)",
                (QUEUED, job.id),
            )
            .fetchone()
        )
        return int(row[0])

    # ----------------------------------------------------------------------------------------- writes

    def add(
        self,
        job_id: str,
        style: str,
        settings: dict[str, Any],
        max_queued: int,
        *,
        kind: str = IMAGE,
        options: dict[str, Any] | None = None,
    ) -> Job | None:
        """Queue a new job; None when ``max_queued`` jobs are already waiting."""
        with self._transaction() as db:
            (queued,) = db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (QUEUED,)).fetchone()
            if queued >= max_queued:
                return None
            db.execute(
                "INSERT INTO jobs (id, state, created, style, settings, kind, options) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    QUEUED,
                    time.time(),
                    style,
                    json.dumps(settings, sort_keys=True),
                    kind,
                    json.dumps(options or {}, sort_keys=True),
                ),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def claim(self) -> Job | None:
        """Mark the oldest queued job running and return it."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY rowid LIMIT 1", (QUEUED,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = ?, started = ?, attempts = attempts + 1, done = 0 WHERE id = ?",
                (RUNNING, time.time(), row[0]),
            )
        return self.get(row[0])

    def finish(
        self,
        job_id: str,
        state: str,
        *,
        error: str | None = None,
        done: int = 0,
        total: int = 0,
        seconds: float | None = None,
        size: tuple[int, int] | None = None,
        outcome: dict[str, Any] | None = None,
    ) -> None:
        """Record the end of a running job."""
        assert state in FINAL_STATES
        width, height = size if size is not None else (None, None)
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ?, done = ?, total = ?, seconds = ?, "
                "width = ?, height = ?, outcome = ? WHERE id = ? AND state = ?",
                (
                    state,
                    time.time(),
                    error,
                    done,
                    total,
                    seconds,
                    width,
                    height,
                    json.dumps(outcome or {}, sort_keys=True),
                    job_id,
                    RUNNING,
                ),
            )

    def release(self, job_id: str) -> None:
        """Put a running job back at its place in the queue (the server is stopping); the run does not
        count as an attempt."""
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, started = NULL, attempts = MAX(attempts - 1, 0), done = 0 "
                "WHERE id = ? AND state = ?",
                (QUEUED, job_id, RUNNING),
            )

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job at once; ask a running one to stop (the worker ends it). Final jobs are
        left alone. None when there is no such job."""
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = NULL WHERE id = ? AND state = ?",
                (CANCELLED, time.time(), job_id, QUEUED),
            )
            db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = ?", (job_id, RUNNING))
        return self.get(job_id)

    def finished_oldest_first(self) -> list[Job]:
        """Jobs that are done, failed or cancelled, the longest finished first (what retention removes)."""
        rows = (
            self._db()
            .execute(
                "SELECT * FROM jobs WHERE state IN (?, ?, ?) ORDER BY COALESCE(finished, created), rowid",
                (DONE, FAILED, CANCELLED),
            )
            .fetchall()
        )
        return [Job.from_row(row) for row in rows]

    def delete(self, job_id: str) -> DeleteOutcome:
        with self._transaction() as db:
            row = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return "missing"
            if row[0] == RUNNING:
                return "running"
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return "deleted"

    def recover(self, max_attempts: int) -> list[Job]:
        """Deal with jobs a killed server left ``running``; returns them as they are now."""
        now = time.time()
        with self._transaction() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM jobs WHERE state = ?", (RUNNING,))]
            db.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = NULL, "
                "note = 'cancelled while the server was stopped' WHERE state = ? AND cancel_requested = 1",
                (CANCELLED, now, RUNNING),
            )
            db.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = 'the server stopped during each of its ' "
                "|| attempts || ' runs (was it killed, or out of memory?); not trying again' "
                "WHERE state = ? AND attempts >= ?",
                (FAILED, now, RUNNING, max_attempts),
            )
            db.execute(
                "UPDATE jobs SET state = ?, started = NULL, done = 0, "
                "note = 'the server stopped during run ' || attempts || '; queued again' WHERE state = ?",
                (QUEUED, RUNNING),
            )
        return [job for job in (self.get(job_id) for job_id in ids) if job is not None]
