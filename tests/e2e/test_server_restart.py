"""Kill ``brushwork serve`` with SIGKILL in the middle of a job and start it again: nothing is lost.

One data directory, three server processes:

1. job A finishes; job B (long) starts; job C waits behind it. SIGKILL.
2. B is queued again and starts its second run; C still waits; A's result is untouched. SIGKILL.
3. B has now been interrupted twice (``--max-attempts 2``): it is failed with a reason; C runs and
   finishes. Job D starts; SIGTERM stops the server gracefully, putting D back in the queue.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import sqlite3
from pathlib import Path

from serverproc import StartServer, is_final, small_jpeg, submit, wait_for_job

TINY = {"size": "48", "steps": "2"}
LONG = {"size": "48", "steps": "400"}  # never finishes here: it is killed after a few steps


def test_jobs_survive_sigkill(start_server: StartServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    photo = small_jpeg()

    first = start_server(data_dir, "--max-attempts", "2", "--preview-every", "1")
    with first.client() as client:
        a = submit(client, photo, **TINY)
        a_done = wait_for_job(client, a["id"], is_final)
        assert a_done["state"] == "done"
        a_result = client.get(a_done["links"]["result"]).content
        b = submit(client, photo, **LONG)
        c = submit(client, photo, **TINY)
        wait_for_job(client, b["id"], lambda j: j["state"] == "running" and j["progress"]["done"] >= 2)
        assert (data_dir / "jobs" / b["id"] / "preview.png").is_file()
    first.kill()

    second = start_server(data_dir, "--max-attempts", "2")
    with second.client() as client:
        b_again = wait_for_job(client, b["id"], lambda j: j["state"] == "running" and j["progress"]["done"])
        assert b_again["attempts"] == 2
        assert "the server stopped during run 1; queued again" in b_again["note"]
        c_waiting = client.get(f"/api/jobs/{c['id']}").json()
        assert (c_waiting["state"], c_waiting["queue_position"]) == ("queued", 0)
        assert client.get(a_done["links"]["result"]).content == a_result
    second.kill()

    third = start_server(data_dir, "--max-attempts", "2")
    with third.client() as client:
        b_failed = client.get(f"/api/jobs/{b['id']}").json()
        assert b_failed["state"] == "failed"
        assert "the server stopped during each of its 2 runs" in b_failed["error"]
        c_done = wait_for_job(client, c["id"], is_final)
        assert c_done["state"] == "done" and c_done["attempts"] == 1
        listing = client.get("/api/jobs").json()
        assert listing["counts"] == {"queued": 0, "running": 0, "done": 2, "failed": 1, "cancelled": 0}
        result = client.get(a_done["links"]["result"]).content
        assert hashlib.sha256(result).digest() == hashlib.sha256(a_result).digest()
        d = submit(client, photo, **LONG)
        wait_for_job(client, d["id"], lambda j: j["state"] == "running" and j["progress"]["done"])
    assert third.terminate() == -signal.SIGTERM  # uvicorn stops gracefully, then re-raises the signal
    assert "Traceback" not in third.output()
    with contextlib.closing(sqlite3.connect(data_dir / "jobs.sqlite3")) as db:
        row = db.execute("SELECT state, attempts FROM jobs WHERE id = ?", (d["id"],)).fetchone()
    assert row == ("queued", 0)  # put back, and the cut-short run does not count

    assert list((data_dir / "jobs").rglob(".*.tmp")) == []
    assert list((data_dir / "incoming").iterdir()) == []


def test_a_video_job_killed_mid_clip_continues_from_its_finished_frames(
    start_server: StartServer, tmp_path: Path
) -> None:
    import io
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from ci import require

    av = require("av", "pip install 'brushwork[video]'")
    from video_clips import make_clip

    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=48, size=(96, 72))
    data_dir = tmp_path / "data"
    first = start_server(data_dir)
    with first.client() as client:
        files = {"video": ("clip.mp4", clip.read_bytes(), "video/mp4")}
        job = client.post("/api/videos", files=files, data={"style_id": "starry_night", "size": "96"}).json()
        wait_for_job(client, job["id"], lambda j: j["state"] == "running" and j["progress"]["done"] >= 3)
    first.kill()

    second = start_server(data_dir)
    with second.client() as client:
        done = wait_for_job(client, job["id"], is_final, timeout=120)
        assert done["state"] == "done", done
        assert done["attempts"] == 2 and done["outcome"]["reused"] >= 3 and done["outcome"]["frames"] == 48
        video = client.get(done["links"]["result"]).content
    with av.open(io.BytesIO(video)) as container:
        assert sum(1 for _ in container.decode(container.streams.video[0])) == 48
        assert container.streams.audio
