"""The job store, its crash recovery, the file layout and the pieces of the server that are plain logic."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from brushwork.cli import main
from brushwork.config import Settings
from brushwork.errors import UserInputError
from brushwork.server import ServerConfig, is_loopback
from brushwork.server.app import Server
from brushwork.server.files import JobFiles, new_job_id
from brushwork.server.guard import _hostname
from brushwork.server.runner import estimate_left, thumbnail_size, work_plan
from brushwork.server.store import JobStore


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.sqlite3")


def add(store: JobStore, max_queued: int = 100) -> str:
    job_id = new_job_id()
    assert store.add(job_id, "starry_night", {"size": 48}, max_queued) is not None
    return job_id


def test_jobs_are_claimed_oldest_first_and_counted_as_attempts(store: JobStore) -> None:
    first, second = add(store), add(store)
    claimed = store.claim()
    assert claimed is not None and claimed.id == first
    assert (claimed.state, claimed.attempts) == ("running", 1)
    assert store.position(store.get(second)) == 0  # type: ignore[arg-type]
    again = store.claim()
    assert again is not None and again.id == second
    assert store.claim() is None


def test_the_queue_limit_counts_only_waiting_jobs(store: JobStore) -> None:
    add(store, max_queued=2)
    add(store, max_queued=2)
    assert store.add(new_job_id(), "upload", {}, 2) is None
    store.claim()  # one starts running: there is room again
    assert store.add(new_job_id(), "upload", {}, 2) is not None


def test_a_finished_state_is_recorded_only_for_a_running_job(store: JobStore) -> None:
    job_id = add(store)
    store.finish(job_id, "done", done=3, total=3, seconds=1.5, size=(48, 36))
    assert store.get(job_id).state == "queued"  # type: ignore[union-attr]
    store.claim()
    store.finish(job_id, "done", done=3, total=3, seconds=1.5, size=(48, 36))
    job = store.get(job_id)
    assert job is not None
    assert (job.state, job.done, job.width, job.height, job.seconds) == ("done", 3, 48, 36, 1.5)


def test_recovery_requeues_interrupted_jobs_then_gives_up_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    job_id = add(store)
    waiting = add(store)
    store.claim()
    store.close()  # as if killed: the row still says running

    store = JobStore(path)
    (recovered,) = store.recover(max_attempts=2)
    assert (recovered.id, recovered.state, recovered.attempts) == (job_id, "queued", 1)
    assert recovered.note is not None and "stopped during run 1" in recovered.note
    assert store.get(waiting).state == "queued"  # type: ignore[union-attr]

    assert store.claim().id == job_id  # type: ignore[union-attr]
    (failed,) = store.recover(max_attempts=2)  # killed again during its second run
    assert failed.state == "failed" and failed.finished is not None
    assert failed.error is not None and "server stopped during each of its 2 runs" in failed.error
    assert store.recover(max_attempts=2) == []


def test_recovery_honours_a_cancel_asked_for_before_the_crash(store: JobStore) -> None:
    job_id = add(store)
    store.claim()
    store.cancel(job_id)
    assert store.get(job_id).cancel_requested  # type: ignore[union-attr]
    (job,) = store.recover(max_attempts=5)
    assert job.state == "cancelled"


def test_a_graceful_stop_puts_the_job_back_without_counting_the_run(store: JobStore) -> None:
    job_id = add(store)
    store.claim()
    store.release(job_id)
    job = store.get(job_id)
    assert job is not None and (job.state, job.attempts, job.started) == ("queued", 0, None)


def test_delete_refuses_a_running_job(store: JobStore) -> None:
    job_id = add(store)
    store.claim()
    assert store.delete(job_id) == "running"
    assert store.delete(new_job_id()) == "missing"
    store.finish(job_id, "failed", error="x")
    assert store.delete(job_id) == "deleted"
    assert store.get(job_id) is None


def test_the_database_is_in_wal_mode_with_a_schema_version(store: JobStore) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2  # 2: kinds of job (video, batch)
    db.close()


def test_sweep_removes_half_made_uploads_orphans_and_temporary_files(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    files.prepare()
    kept, orphan, half = new_job_id(), new_job_id(), new_job_id()
    (files.jobs / kept).mkdir()
    (files.jobs / kept / "result.png").write_bytes(b"png")
    (files.jobs / kept / ".result.png.abc123.tmp").write_bytes(b"partial")
    (files.jobs / orphan).mkdir()
    files.staging(half)
    files.sweep({kept})
    assert sorted(p.name for p in (files.jobs / kept).iterdir()) == ["result.png"]
    assert not (files.jobs / orphan).exists()
    assert list(files.incoming.iterdir()) == []


def test_job_file_paths_accept_only_job_ids(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    with pytest.raises(ValueError):
        files.folder("../../etc")
    with pytest.raises(ValueError):
        files.path("0" * 31 + "/", "result.png")


def test_a_second_server_cannot_share_a_data_directory(tmp_path: Path) -> None:
    first = Server(ServerConfig(data_dir=tmp_path))
    first.open()
    try:
        with pytest.raises(UserInputError, match="another brushwork server"):
            Server(ServerConfig(data_dir=tmp_path)).open()
    finally:
        first.close()
    second = Server(ServerConfig(data_dir=tmp_path))
    second.open()  # free again once the first has closed
    second.close()


def test_eta_counts_pixels_not_steps() -> None:
    settings = Settings(size=256, quality="draft", pyramid_start=128, coarse_steps=40, steps=5)
    plan = work_plan((512, 384), settings)
    assert plan == [(40, 128 * 96), (5, 256 * 192)]
    # After the 40 coarse steps: 40*12288 = 491520 of 737280 pixel-steps done in 10 s → 5 s left.
    assert estimate_left(plan, scale=1, step=40, elapsed=10.0) == pytest.approx(5.0)
    assert estimate_left(plan, scale=2, step=5, elapsed=15.0) == 0.0
    assert estimate_left(plan, scale=1, step=0, elapsed=1.0) is None


def test_thumbnails_shrink_but_never_grow() -> None:
    assert thumbnail_size((1024, 768)) == (256, 192)
    assert thumbnail_size((48, 36)) == (48, 36)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.4", False), ("::", False), ("example.com", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8000", "127.0.0.1"), ("localhost", "localhost"), ("[::1]:8000", "::1"), ("[::1]", "::1")],
)
def test_host_header_names(header: str, name: str) -> None:
    assert _hostname(header) == name


@pytest.mark.parametrize(
    ("options", "message"),
    [({"workers": 0}, "workers"), ({"token": "short"}, "at least 8"), ({"max_queued": 0}, "max-queued")],
)
def test_server_config_is_checked(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        ServerConfig(data_dir=tmp_path, **options)  # type: ignore[arg-type]


def test_serving_beyond_loopback_needs_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRUSHWORK_TOKEN", raising=False)
    status = main(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path)])
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "brushwork: error: listening on 0.0.0.0 lets other machines in: "
        "give a token with --token or BRUSHWORK_TOKEN"
    )
