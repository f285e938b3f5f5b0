"""Videos and batches through the HTTP API (in-process, FastAPI's TestClient), and the operator's limits.

Clips are a few frames at 64x48 made with PyAV (tests/video_clips.py), photos are 64 px, and every job
uses the fast engine, so that each test takes seconds.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brushwork.server import ServerConfig
from brushwork.server.app import create_app
from brushwork.server.files import JobFiles
from brushwork.server.housekeeping import Housekeeper
from brushwork.server.preview import ADMITTED
from brushwork.server.runner import Runner
from brushwork.server.store import DONE, JobStore
from brushwork.server.zips import Refused, safe_name, unpack_photos
from ci import require
from e2e.serverproc import is_final, wait_for_job

av = require("av", "pip install 'brushwork[video]'")
from video_clips import make_clip  # noqa: E402 - needs PyAV

DATA = Path(__file__).parent / "data"
FAST = {"size": "64", "style_id": "starry_night"}
MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(data: str = "data", **config: Any) -> TestClient:
        options: dict[str, Any] = {"preview_every": 1, "preview_interval": 0.0, "warm_up": False, **config}
        client = TestClient(
            create_app(ServerConfig(data_dir=tmp_path / data, **options)), base_url="http://127.0.0.1"
        )
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    make_clip(path, frames=6, size=(64, 48))
    return path


def photo(name: str, long_side: int = 64) -> bytes:
    with Image.open(DATA / name) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=90)
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def huge_png() -> bytes:
    """A PNG whose header says 20000x20000 (a decompression bomb), which nobody needs to decode."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


THREE = {
    "trip/chicago.jpg": photo("chicago.jpg"),
    "trip/lion.jpg": photo("lion.jpg"),
    "sailboat.jpg": photo("sailboat.jpg"),
}


def post_video(client: TestClient, clip: Path, **fields: str) -> httpx.Response:
    files = {"video": ("clip.mp4", clip.read_bytes(), "video/mp4")}
    return client.post("/api/videos", files=files, data={**FAST, **fields})


def post_batch(
    client: TestClient, files: list[tuple[str, tuple[str, bytes, str]]], **fields: str
) -> httpx.Response:
    return client.post("/api/batches", files=files, data={**FAST, **fields})


def finished(client: TestClient, response: httpx.Response, timeout: float = 60) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/api/jobs/{response.json()['id']}"
    return wait_for_job(client, response.json()["id"], is_final, timeout=timeout)


def frames_and_audio(data: bytes) -> tuple[int, tuple[int, int], list[bytes]]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        size = (video.codec_context.width, video.codec_context.height)
        frames = sum(1 for _ in container.decode(video))
    with av.open(io.BytesIO(data)) as container:
        audio = [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]
    return frames, size, audio


# ------------------------------------------------------------------------------------------ videos


def test_a_clip_keeps_every_frame_and_its_audio(client: TestClient, clip: Path) -> None:
    job = finished(client, post_video(client, clip))
    assert job["state"] == "done", job
    assert job["kind"] == "video" and job["progress"]["unit"] == "frame"
    assert job["progress"]["done"] == job["progress"]["total"] == 6
    assert job["links"]["result"].endswith("/result.mp4")
    result = client.get(job["links"]["result"])
    assert result.status_code == 200 and result.headers["content-type"] == "video/mp4"
    frames, size, audio = frames_and_audio(result.content)
    assert (frames, size) == (6, (64, 48))
    assert audio and audio == frames_and_audio(clip.read_bytes())[2]  # copied packet for packet
    preview = client.get(f"/api/jobs/{job['id']}/preview.png")  # the last painted frame
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).size == (64, 48)
    assert client.get(job["links"]["thumb"]).status_code == 200
    assert client.get(job["links"]["content"]).status_code == 200  # the first frame
    # 409: the job exists, but has no such result (404 means only "no such job")
    assert client.get(f"/api/jobs/{job['id']}/result.webm").status_code == 409
    assert client.get(f"/api/jobs/{job['id']}/result.zip").status_code == 409


def test_the_container_is_chosen_when_the_job_is_made(client: TestClient, clip: Path) -> None:
    job = finished(client, post_video(client, clip, container="webm", size="32", duration="0.125"))
    assert job["state"] == "done", job
    assert job["options"]["size"] == 32, job["options"]
    result = client.get(job["links"]["result"])
    assert job["links"]["result"].endswith("/result.webm") and result.headers["content-type"] == "video/webm"
    frames, size, _ = frames_and_audio(result.content)
    assert (frames, size) == (3, (32, 24))  # 0.125 s at 24 fps, long side 32
    assert client.get(f"/api/jobs/{job['id']}/result.mp4").status_code == 409


def test_the_events_count_frames_and_show_the_latest_one(
    client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = Runner.check

    def slowly(self: Runner, job_id: str) -> None:  # a frame a sixth of a second: events see each
        time.sleep(1 / 6)
        check(self, job_id)

    monkeypatch.setattr(Runner, "check", slowly)
    created = post_video(client, clip)
    assert created.status_code == 201
    seen: list[dict[str, Any]] = []
    with client.stream("GET", created.json()["links"]["events"]) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: ") and '"state"' in line:
                seen.append(json.loads(line[len("data: ") :]))
    running = [job for job in seen if job["state"] == "running" and job["progress"]["done"]]
    assert seen[-1]["state"] == "done"
    assert running and all(
        job["progress"]["unit"] == "frame" and job["progress"]["total"] == 6 for job in running
    )
    assert any("preview" in job["links"] for job in running)


def test_an_interrupted_video_continues_from_its_finished_frames(
    make_client: MakeClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    check = Runner.check

    def stop_after_three_frames(self: Runner, job_id: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            self._stopping.set()  # as a restart does: the job goes back to the queue
        check(self, job_id)

    monkeypatch.setattr(Runner, "check", stop_after_three_frames)
    first = make_client()
    created = post_video(first, clip)
    job_id = created.json()["id"]
    wait_for_job(first, job_id, lambda job: job["state"] == "queued" and calls >= 3)
    first.__exit__(None, None, None)
    monkeypatch.setattr(Runner, "check", check)

    second = make_client()
    job = wait_for_job(second, job_id, is_final)
    assert job["state"] == "done", job
    assert job["outcome"]["reused"] == 3 and job["outcome"]["frames"] == 6
    frames, _, audio = frames_and_audio(second.get(job["links"]["result"]).content)
    assert frames == 6 and audio


def test_clip_limits_are_413_and_a_bad_window_400(make_client: MakeClient, clip: Path) -> None:
    client = make_client(max_clip_seconds=0.1, max_clip_pixels=64 * 48)
    long = post_video(client, clip)
    assert long.status_code == 413 and "at most 0.1 s" in long.json()["error"]
    assert post_video(client, clip, duration="0.08").status_code == 201  # a part within the limit
    past = post_video(client, clip, start="5")
    assert past.status_code == 400 and "start" in past.json()["error"]  # valid fields, not for this clip
    big = make_client("other", max_clip_pixels=1000)
    wide = post_video(big, clip)
    assert wide.status_code == 413 and "64x48" in wide.json()["error"]


def test_bad_video_uploads_are_refused_in_one_line(make_client: MakeClient, clip: Path) -> None:
    client = make_client(max_video_bytes=1000)
    assert post_video(client, clip).status_code == 413
    not_video = client.post(
        "/api/videos", files={"video": ("clip.mp4", b"not a video", "video/mp4")}, data=FAST
    )
    assert not_video.status_code == 400 and "the clip" in not_video.json()["error"]
    assert "\n" not in not_video.json()["error"]
    typo = post_video(client, clip, strenght="0.5")
    assert typo.status_code == 422 and "strenght" in typo.json()["error"]
    out_of_range = post_video(client, clip, temporal_blend="1.5")
    assert out_of_range.status_code == 422 and "temporal_blend" in out_of_range.json()["error"]
    no_style = client.post("/api/videos", files={"video": ("clip.mp4", clip.read_bytes(), "video/mp4")})
    assert no_style.status_code == 422 and "style" in no_style.json()["error"]


# ----------------------------------------------------------------------------------------- batches


def test_a_zip_of_three_photos_gives_three_paintings_and_the_ledger(client: TestClient) -> None:
    job = finished(client, post_batch(client, [("photos", ("photos.zip", zip_of(THREE), "application/zip"))]))
    assert job["state"] == "done", job
    assert job["kind"] == "batch" and job["progress"]["unit"] == "item"
    names = ["sailboat__starry_night.png", "trip/chicago__starry_night.png", "trip/lion__starry_night.png"]
    assert [item["name"] for item in job["items"]] == names
    assert all(item["status"] == "done" for item in job["items"])
    result = client.get(job["links"]["result"])
    assert result.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(result.content)) as zf:
        assert sorted(zf.namelist()) == ["_brushwork/ledger.jsonl", *names]
        with Image.open(io.BytesIO(zf.read(names[1]))) as painting:
            assert painting.format == "PNG" and max(painting.size) == 64
        ledger = [json.loads(line) for line in zf.read("_brushwork/ledger.jsonl").splitlines()]
    assert sorted(entry["item"] for entry in ledger if entry["status"] == "done") == names


def test_several_files_and_styles_with_a_failed_item_listed(client: TestClient) -> None:
    files = [
        ("photos", ("lion.jpg", photo("lion.jpg"), "image/jpeg")),
        ("photos", ("broken.jpg", photo("chicago.jpg")[:200], "image/jpeg")),
        ("photos", ("notes.txt", b"not a photo", "text/plain")),
        ("style", ("mine.jpg", photo("the_scream.jpg", 128), "image/jpeg")),
    ]
    job = finished(client, post_batch(client, files))
    assert job["state"] == "done", job
    states = {item["name"]: item for item in job["items"]}
    assert states["lion__mine.png"]["status"] == states["lion__starry_night.png"]["status"] == "done"
    assert states["broken__mine.png"]["status"] == "failed" and states["broken__mine.png"]["message"]
    assert {failure["name"] for failure in job["outcome"]["failed"]} == {
        "broken__mine.png",
        "broken__starry_night.png",
    }
    assert job["options"]["skipped"] == ["notes.txt"]
    with zipfile.ZipFile(io.BytesIO(client.get(job["links"]["result"]).content)) as zf:
        assert {"lion__mine.png", "lion__starry_night.png", "_brushwork/failed.csv"} <= set(zf.namelist())


@pytest.mark.parametrize(
    ("members", "status", "words"),
    [
        ({"../evil.jpg": b"x"}, 400, "outside its folder"),
        ({"/etc/evil.jpg": b"x"}, 400, "outside its folder"),
        ({"a\\..\\evil.jpg": b"x"}, 400, "outside its folder"),
        ({f"p{i}.jpg": b"x" for i in range(4)}, 413, "at most 3"),
        ({"bomb.jpg": bytes(3_000_000)}, 413, "at most 1000000"),
        ({"notes.txt": b"hello"}, 400, "no images"),
        ({"ok.jpg": photo("lion.jpg"), "huge.png": huge_png()}, 413, "'huge.png' has more than 20000000"),
    ],
)
def test_unsafe_or_oversized_zips_are_refused(
    make_client: MakeClient, members: dict[str, bytes], status: int, words: str
) -> None:
    client = make_client(max_batch_items=3, max_batch_bytes=1_000_000)
    response = post_batch(client, [("photos", ("photos.zip", zip_of(members), "application/zip"))])
    assert response.status_code == status and words in response.json()["error"], response.text
    assert client.get("/api/jobs").json()["total"] == 0


def test_a_zip_whose_headers_lie_is_refused_within_the_limit(tmp_path: Path) -> None:
    archive = tmp_path / "lying.zip"
    archive.write_bytes(zip_of({"big.jpg": bytes(500_000)}))
    data = bytearray(archive.read_bytes())
    declared = (500_000).to_bytes(4, "little")
    data = bytearray(bytes(data).replace(declared, (1000).to_bytes(4, "little")))  # both headers now say 1000
    archive.write_bytes(bytes(data))
    with pytest.raises(Refused) as refused:
        unpack_photos(archive, tmp_path / "out", max_members=10, max_bytes=10_000)
    assert refused.value.status == 400, refused.value  # zipfile reads no further than the header says
    assert (
        not (tmp_path / "out" / "big.jpg").exists() or (tmp_path / "out" / "big.jpg").stat().st_size <= 10_000
    )


def test_links_are_refused_and_names_are_made_safe(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("photo.jpg")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(Refused, match="is a link"):
        unpack_photos(archive, tmp_path / "out", max_members=10, max_bytes=10_000)
    taken: set[str] = set()
    assert safe_name("../../etc/passwd.jpg", taken) == "passwd.jpg"
    assert safe_name("PASSWD.jpg", taken) == "PASSWD-2.jpg"
    assert safe_name("C:\\photos\\a b;rm.png", taken) == "a b_rm.png"


# ------------------------------------------------------------------------------------------ limits


def test_a_job_past_the_time_limit_fails_saying_so(make_client: MakeClient, clip: Path) -> None:
    client = make_client(max_job_seconds=0.001)
    job = finished(client, post_video(client, clip))
    assert job["state"] == "failed" and "time limit" in job["error"]


def test_event_streams_are_limited(make_client: MakeClient) -> None:
    client = make_client(max_event_streams=1)
    files = {"content": ("photo.jpg", photo("tubingen.jpg"), "image/jpeg")}
    job = client.post(
        "/api/jobs",
        files=files,
        data={"style_id": "starry_night", "size": "48", "quality": "draft", "steps": "400"},
    ).json()
    try:
        with client.stream("GET", job["links"]["events"]) as stream:
            next(stream.iter_lines())
            refused = client.get(job["links"]["events"])
            assert refused.status_code == 429 and "event streams" in refused.json()["error"]
    finally:
        client.post(job["links"]["cancel"])
    wait_for_job(client, job["id"], is_final)
    with client.stream("GET", job["links"]["events"]) as stream:  # the place was given back
        assert stream.status_code == 200


def test_retention_and_quota_remove_finished_jobs_oldest_first(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    files.prepare()
    store = JobStore(tmp_path / "jobs.sqlite3")
    keeper = Housekeeper(store, files, ServerConfig(data_dir=tmp_path, max_disk_bytes=2500, keep_hours=1))
    ids = [f"{i:032x}" for i in range(4)]
    for job_id in ids:
        store.add(job_id, "upload", {}, 10)
        files.folder(job_id).mkdir()
        (files.folder(job_id) / "result.png").write_bytes(bytes(1000))
    for job_id in ids[:3]:
        store.claim()
        store.finish(job_id, DONE)
    store.claim()  # ids[3] is running
    assert keeper.usage() == 4000
    assert keeper.make_room(0)  # 2 oldest finished go
    assert store.ids() == {ids[2], ids[3]} and keeper.usage() == 2000
    assert not keeper.make_room(1600)  # the running one is never removed
    assert store.ids() == {ids[3]}
    store.add(ids[0], "upload", {}, 10)
    assert keeper.expire(time.time() + 7200) == []  # queued and running jobs stay, however old
    store.close()


def test_new_jobs_are_429_when_queued_and_running_ones_fill_the_quota(
    make_client: MakeClient, clip: Path
) -> None:
    client = make_client(max_disk_bytes=40_000)  # less than a bundled painting: one job fills it
    files = {"content": ("photo.jpg", photo("tubingen.jpg"), "image/jpeg")}
    long = {"style_id": "kandinsky", "size": "48", "quality": "draft", "steps": "400"}
    running = client.post("/api/jobs", files=files, data=long).json()
    try:
        refused = client.post("/api/jobs", files=files, data=long)
        assert refused.status_code == 429 and "disk quota" in refused.json()["error"]
        assert post_video(client, clip).status_code == 429
    finally:
        client.post(running["links"]["cancel"])
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{running['id']}").status_code != 404:  # finished, so it goes first
        assert time.monotonic() < deadline, "the cancelled job was not removed to keep within the quota"
        time.sleep(0.1)
    assert post_video(client, clip).status_code == 201
    too_big = make_client("other", max_disk_bytes=1000)
    response = post_video(too_big, clip)
    assert response.status_code == 413 and "disk quota" in response.json()["error"]


def test_a_busy_previewer_answers_before_decoding(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brushwork.server.app as app_module

    def must_not_decode(*args: object) -> None:
        raise AssertionError("decoded although the previewer was busy")

    monkeypatch.setattr(app_module, "_preview_inputs", must_not_decode)
    previewer = client.app.state.server.previewer  # type: ignore[attr-defined]
    previewer._admitted = ADMITTED
    files = {"content": ("photo.jpg", photo("tubingen.jpg"), "image/jpeg")}
    response = client.post("/api/preview", files=files, data={"style_id": "starry_night"})
    previewer._admitted = 0
    assert response.status_code == 429


def test_the_operators_limits_are_serve_options() -> None:
    from brushwork.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(
        ["serve", "--max-disk-mb", "5", "--keep-hours", "2", "--max-job-minutes", "3",
         "--max-clip-seconds", "4", "--max-clip-pixels", "5000", "--max-video-mb", "6",
         "--max-batch-items", "7", "--max-batch-mb", "8", "--max-event-streams", "9"]
    )  # fmt: skip
    assert (args.max_disk_mb, args.keep_hours, args.max_job_minutes, args.max_clip_seconds) == (5, 2, 3, 4)
    assert (args.max_clip_pixels, args.max_video_mb, args.max_batch_items) == (5000, 6, 7)
    assert (args.max_batch_mb, args.max_event_streams) == (8, 9)


def test_a_version_1_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, created REAL NOT NULL, started REAL, "
        "finished REAL, style TEXT NOT NULL, settings TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
        "cancel_requested INTEGER NOT NULL DEFAULT 0, error TEXT, note TEXT, "
        "done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0, seconds REAL, width INTEGER, "
        "height INTEGER);"
        "INSERT INTO jobs (id, state, created, style, settings) VALUES ('a', 'done', 1, 'x', '{}');"
        "PRAGMA user_version = 1;"
    )
    db.close()
    store = JobStore(path)
    job = store.get("a")
    assert job is not None and (job.kind, job.options, job.outcome) == ("image", {}, {})
    store.close()


def test_the_openapi_schema_bounds_every_number_of_the_new_routes(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for route in ("/api/videos", "/api/batches"):
        post = paths[route]["post"]
        assert {"201", "400", "413", "422", "429"} <= set(post["responses"])
        ref = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        for name, field in body["properties"].items():
            assert "anyOf" not in field, f"{route} {name} may be null"
            if field.get("type") in ("number", "integer"):
                assert "minimum" in field and "maximum" in field, f"{route} {name} is unbounded"
    for path in ("result.mp4", "result.webm", "result.mkv", "result.zip"):
        assert f"/api/jobs/{{job_id}}/{path}" in paths
    assert "video/mp4" in paths["/api/jobs/{job_id}/result.mp4"]["get"]["responses"]["200"]["content"]


def test_only_the_video_and_batch_routes_take_larger_requests(make_client: MakeClient, clip: Path) -> None:
    size = len(clip.read_bytes())
    client = make_client(max_upload_bytes=20_000, max_video_bytes=size + 100)
    assert post_video(client, clip).status_code == 201
    image_job = client.post(
        "/api/jobs",
        files={"content": ("a.jpg", bytes(400_000), "image/jpeg")},
        data={"style_id": "starry_night"},
    )
    assert image_job.status_code == 413 and "request is larger" in image_job.json()["error"]
    files = {"video": ("clip.mp4", bytes(size + 500_000), "video/mp4")}
    video_job = client.post("/api/videos", files=files, data=FAST)
    assert video_job.status_code == 413 and "request is larger" in video_job.json()["error"]
