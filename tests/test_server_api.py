"""The HTTP API of ``brushwork serve``, in-process through FastAPI's TestClient.

Jobs are tiny (48 px, 1-3 steps) except where a job must still be running when the test acts on it.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from brushwork import imageio
from brushwork.config import Settings
from brushwork.finishing.after import After
from brushwork.imageio import Picture
from brushwork.server import ServerConfig
from brushwork.server.app import ADJUST_FIELDS, PREVIEW_FIELDS, create_app
from brushwork.server.finish import FinishBusy, Finisher
from brushwork.server.gallery import GALLERY, STATIC_DIR
from brushwork.server.preview import PreviewBusy, Previewer, PreviewImage
from brushwork.server.runner import Runner
from e2e.serverproc import is_final, wait_for_job

TINY = {"size": "48", "quality": "draft", "steps": "2"}
LONG = {"size": "48", "quality": "draft", "steps": "400"}  # a minute or so: cancelled or abandoned
TOKEN = "correct-horse-battery"


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """Start an app on a fresh data directory; ``config`` overrides ServerConfig fields."""
    clients: list[TestClient] = []

    def make(base_url: str = "http://127.0.0.1", **config: Any) -> TestClient:
        options: dict[str, Any] = {"preview_every": 1, "preview_interval": 0.0, "warm_up": False, **config}
        app = create_app(ServerConfig(data_dir=tmp_path / "data", **options))
        client = TestClient(app, base_url=base_url)
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
def photo() -> bytes:
    return image_bytes(Path(__file__).parent / "data" / "tubingen.jpg", "JPEG")


@pytest.fixture(scope="module")
def painting() -> bytes:
    return image_bytes(Path(__file__).parent / "data" / "the_scream.jpg", "PNG")


def image_bytes(path: Path, fmt: str, long_side: int = 64) -> bytes:
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        out = io.BytesIO()
        im.save(out, fmt)
    return out.getvalue()


def submit(
    client: TestClient,
    content: bytes,
    *,
    style: bytes | None = None,
    style_id: str | None = "starry_night",
    content_name: str = "photo.jpg",
    mask: bytes | None = None,
    **fields: str,
) -> httpx.Response:
    files = {"content": (content_name, content, "image/jpeg")}
    data = {}
    if style is not None:
        files["style"] = ("painting.png", style, "image/png")
    elif style_id is not None:
        data["style_id"] = style_id
    if mask is not None:
        files["mask"] = ("mask.png", mask, "image/png")
    data.update(fields)
    return client.post("/api/jobs", files=files, data=data)


def png_text(data: bytes) -> dict[str, str]:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return dict(getattr(im, "text", {}))


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return im.size


# ------------------------------------------------------------------------------------------- a job


def test_a_job_runs_and_its_result_carries_the_settings(client: TestClient, photo: bytes) -> None:
    response = submit(client, photo, **TINY, strength="0.8", preserve_color="lab")
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/jobs/{created['id']}"
    assert created["state"] in ("queued", "running")
    assert created["settings"]["strength"] == 0.8 and created["settings"]["preserve_color"] == "lab"

    job = wait_for_job(client, created["id"], is_final)
    assert job["state"] == "done", job
    assert job["progress"]["done"] == job["progress"]["total"] == 2
    assert (job["result"]["width"], job["result"]["height"]) == (48, 36)

    result = client.get(job["links"]["result"])
    assert result.headers["content-type"] == "image/png"
    assert png_size(result.content) == (48, 36)
    record = json.loads(png_text(result.content)["brushwork"])
    assert record["settings"]["steps"] == 2
    assert record["settings"]["strength"] == 0.8
    assert record["settings"]["preserve_color"] == "lab"

    download = client.get(job["links"]["download"])
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.content == result.content
    assert max(png_size(client.get(job["links"]["thumb"]).content)) == 48  # never enlarged past the result
    assert png_size(client.get(job["links"]["content"]).content) == (64, 48)


def test_an_uploaded_style_is_used_instead_of_the_gallery(
    client: TestClient, photo: bytes, painting: bytes
) -> None:
    job = submit(client, photo, style=painting, **TINY).json()
    assert job["style"] == "upload"
    style_thumb = client.get(job["links"]["style"])
    with Image.open(io.BytesIO(painting)) as uploaded:
        assert png_size(style_thumb.content) == uploaded.size
    assert wait_for_job(client, job["id"], is_final)["state"] == "done"


def test_jobs_are_listed_newest_first_with_counts(client: TestClient, photo: bytes) -> None:
    ids = [submit(client, photo, **TINY).json()["id"] for _ in range(3)]
    for job_id in ids:
        wait_for_job(client, job_id, is_final)
    listing = client.get("/api/jobs").json()
    assert [job["id"] for job in listing["jobs"]] == ids[::-1]
    assert listing["total"] == 3 and listing["counts"]["done"] == 3
    assert [job["id"] for job in client.get("/api/jobs?limit=1&offset=1").json()["jobs"]] == [ids[1]]


def test_events_stream_progress_and_previews_until_the_end(client: TestClient, photo: bytes) -> None:
    job = submit(client, photo, size="48", quality="draft", steps="20").json()
    events: list[tuple[str, dict[str, Any]]] = []
    previews: list[bytes] = []
    with client.stream("GET", job["links"]["events"]) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
                events.append((name, data))
                preview = data.get("links", {}).get("preview")
                if data.get("state") == "running" and preview and len(previews) < 2:
                    previews.append(client.get(preview).content)
    names = [name for name, _ in events]
    assert names[-1] == "end" and names[-2] == "job"
    assert events[-2][1]["state"] == "done"
    running = [data for name, data in events if name == "job" and data["state"] == "running"]
    steps_seen = [data["progress"]["done"] for data in running]
    assert steps_seen == sorted(steps_seen) and len(set(steps_seen)) >= 2, steps_seen
    stepped = [data["progress"] for data in running if data["progress"]["done"] >= 1]
    assert stepped and all(p["done"] <= p["total"] == 20 for p in stepped)  # 0 until the images are read
    assert any(data["progress"]["eta"] is not None for data in running)
    assert previews and all(png_size(p) == (48, 36) for p in previews)


def test_a_running_job_can_be_cancelled(client: TestClient, photo: bytes) -> None:
    job = submit(client, photo, **LONG).json()
    wait_for_job(client, job["id"], lambda j: j["state"] == "running" and j["progress"]["done"] >= 1)
    response = client.post(job["links"]["cancel"])
    assert response.status_code == 200
    stopped = wait_for_job(client, job["id"], is_final, timeout=20)
    assert stopped["state"] == "cancelled"
    assert 1 <= stopped["progress"]["done"] < 400
    no_result = client.get(f"/api/jobs/{job['id']}/result.png")  # the job is there, its result is not
    assert no_result.status_code == 409 and "cancelled" in no_result.json()["error"]
    again = client.post(job["links"]["cancel"])
    assert again.status_code == 409 and "cancelled" in again.json()["error"]


def test_a_job_is_deleted_with_its_files_but_not_while_running(
    client: TestClient, photo: bytes, tmp_path: Path
) -> None:
    done = submit(client, photo, **TINY).json()
    wait_for_job(client, done["id"], is_final)
    folder = tmp_path / "data" / "jobs" / done["id"]
    assert (folder / "result.png").is_file()
    assert client.delete(f"/api/jobs/{done['id']}").status_code == 204
    assert not folder.exists()
    assert client.get(f"/api/jobs/{done['id']}").status_code == 404
    assert client.delete(f"/api/jobs/{done['id']}").status_code == 404

    running = submit(client, photo, **LONG).json()
    wait_for_job(client, running["id"], lambda j: j["state"] == "running")
    refused = client.delete(f"/api/jobs/{running['id']}")
    assert refused.status_code == 409 and "cancel" in refused.json()["error"]
    client.post(running["links"]["cancel"])
    wait_for_job(client, running["id"], is_final, timeout=20)


def test_a_fast_job_is_one_step_with_a_result_of_the_asked_size(client: TestClient, photo: bytes) -> None:
    created = submit(client, photo, method="fast", size="48", strength="0.7")
    assert created.status_code == 201, created.text
    assert created.json()["settings"]["method"] == "fast"
    job = wait_for_job(client, created.json()["id"], is_final)
    assert job["state"] == "done", job
    assert job["progress"]["done"] == job["progress"]["total"] == 1
    assert (job["result"]["width"], job["result"]["height"]) == (48, 36)
    result = client.get(job["links"]["result"]).content
    assert png_size(result) == (48, 36)
    record = json.loads(png_text(result)["brushwork"])
    assert record["settings"]["method"] == "fast" and record["settings"]["strength"] == 0.7


def test_an_optimize_job_may_start_from_the_fast_picture(client: TestClient, photo: bytes) -> None:
    created = submit(client, photo, **TINY, init="fast").json()
    assert created["settings"]["init"] == "fast" and created["settings"]["method"] == "optimize"
    job = wait_for_job(client, created["id"], is_final)
    assert job["state"] == "done", job
    assert png_size(client.get(job["links"]["result"]).content) == (48, 36)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"method": "magic", "size": "48"}, "method must be one of optimize, fast"),
        ({"method": "fast", "quality": "draft"}, "--quality only applies to --method optimize"),
        ({"method": "fast", "init": "fast"}, "--init only applies"),
        ({"init": "/etc/passwd"}, "init must be one of content, fast"),
        ({"init": "noise"}, "init must be one of content, fast"),
    ],
)
def test_method_and_init_are_checked(
    client: TestClient, photo: bytes, fields: dict[str, str], expected: str
) -> None:
    response = submit(client, photo, **fields)
    assert response.status_code == 422
    assert expected in response.json()["error"]
    assert client.get("/api/jobs").json()["total"] == 0


# ------------------------------------------------------------------------------ instant previews


def preview(
    client: TestClient,
    content: bytes,
    *,
    style: bytes | None = None,
    style_id: str | None = "starry_night",
    mask: bytes | None = None,
    **fields: str,
) -> httpx.Response:
    files = {"content": ("photo.jpg", content, "image/jpeg")}
    data = {}
    if style is not None:
        files["style"] = ("painting.png", style, "image/png")
    elif style_id is not None:
        data["style_id"] = style_id
    if mask is not None:
        files["mask"] = ("mask.png", mask, "image/png")
    data.update(fields)
    return client.post("/api/preview", files=files, data=data)


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def test_a_preview_is_a_png_of_the_asked_size_and_nothing_is_kept(
    client: TestClient, photo: bytes, painting: bytes, tmp_path: Path
) -> None:
    response = preview(client, photo, size="48", strength="0.6")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    assert float(response.headers["x-brushwork-seconds"]) > 0
    assert png_size(response.content) == (48, 36)
    uploaded = preview(client, photo, style=painting, style_id=None, size="32", preserve_color="lab")
    assert uploaded.status_code == 200 and png_size(uploaded.content) == (32, 24)
    largest = preview(client, photo)  # previews are 512 px unless asked smaller, never larger
    assert png_size(largest.content) == (512, 384)
    too_large = preview(client, photo, size="513")  # refused, not silently made smaller
    assert too_large.status_code == 422 and "at most 512 pixels" in too_large.json()["error"]
    assert client.get("/api/jobs").json()["total"] == 0
    assert list((tmp_path / "data" / "jobs").iterdir()) == []
    assert list((tmp_path / "data" / "incoming").iterdir()) == []


def test_a_preview_at_strength_0_is_the_photo(client: TestClient, photo: bytes) -> None:
    untouched = pixels(preview(client, photo, size="64", strength="0").content)
    original = pixels(photo)
    assert untouched.shape == original.shape == (48, 64, 3)
    assert np.abs(untouched - original).max() <= 1
    painted = pixels(preview(client, photo, size="64", strength="0.5").content)
    assert np.abs(painted - original).mean() > 10  # the style shows


@pytest.mark.parametrize(
    ("upload", "fields", "status", "expected"),
    [
        (b"%PDF-1.4 not an image", {}, 400, "cannot read the content image: not a JPEG, PNG"),
        (None, {"strength": "2"}, 422, "strength must be between 0 and 1"),
        (None, {"style_scale": "40"}, 422, "style-scale must be between"),
        (None, {"size": "8"}, 422, "size must be between 16"),
        (None, {"style_id": "nope"}, 422, "no bundled style 'nope'"),
        (None, {"preserve_color": "hsv"}, 422, "preserve-color must be one of"),
    ],
    ids=["not-an-image", "strength", "style-scale", "size", "style-id", "colour"],
)
def test_bad_preview_input_is_4xx_with_a_one_line_reason(
    client: TestClient,
    photo: bytes,
    tmp_path: Path,
    upload: bytes | None,
    fields: dict[str, str],
    status: int,
    expected: str,
) -> None:
    response = preview(client, photo if upload is None else upload, **fields)
    assert response.status_code == status
    error = response.json()["error"]
    assert expected in error and "\n" not in error
    assert str(tmp_path) not in error and "incoming" not in error  # no server paths


def test_preview_fields_are_checked_like_a_jobs(client: TestClient, photo: bytes) -> None:
    typo = preview(client, photo, strenght="0.9")
    assert typo.status_code == 422 and "unknown form field(s) strenght" in typo.json()["error"]
    tiny = image_bytes(Path(__file__).parent / "data" / "starry_night.jpg", "PNG", long_side=12)
    small_style = preview(client, photo, style=tiny, style_id=None)
    assert (
        small_style.status_code == 400 and "the style image is 12x8: too small" in small_style.json()["error"]
    )
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/preview"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert (
        set(schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]) == PREVIEW_FIELDS
    )


def test_preview_uploads_obey_the_server_limits(
    make_client: MakeClient, photo: bytes, painting: bytes
) -> None:
    client = make_client(max_upload_bytes=len(photo) + 10, max_size=32)
    too_big = preview(client, photo + b"\0" * 200)
    assert too_big.status_code == 413 and "the content image is larger" in too_big.json()["error"]
    style_too_big = preview(client, photo, style=painting + b"\0" * len(photo), style_id=None)
    assert style_too_big.status_code == 413 and "the style image" in style_too_big.json()["error"]
    bomb = preview(client, header_only_png(6_000, 6_000))
    assert bomb.status_code == 400 and "more than the limit" in bomb.json()["error"]
    small = preview(client, photo)  # the server's max size caps previews too
    assert small.status_code == 200 and png_size(small.content) == (32, 24)


def test_previews_need_the_token_and_a_same_origin_page(make_client: MakeClient, photo: bytes) -> None:
    client = make_client(base_url="http://192.0.2.7:8000", token=TOKEN)
    denied = preview(client, photo, size="32")
    assert denied.status_code == 401 and "token" in denied.json()["error"]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    files = {"content": ("a.jpg", photo)}
    data = {"style_id": "starry_night", "size": "32"}
    allowed = client.post("/api/preview", files=files, data=data, headers=bearer)
    assert allowed.status_code == 200 and png_size(allowed.content) == (32, 24)
    foreign = client.post(
        "/api/preview", files=files, data=data, headers={**bearer, "Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403


def test_previews_are_painted_one_at_a_time_and_abandoned_ones_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    previewer = Previewer(torch.device("cpu"))
    painting = {"now": 0, "most": 0, "count": 0}

    def slow_paint(*_: object) -> PreviewImage:
        painting["now"] += 1
        painting["most"] = max(painting["most"], painting["now"])
        time.sleep(0.05)
        painting["now"] -= 1
        painting["count"] += 1
        return PreviewImage(png=b"png", seconds=0.05)

    monkeypatch.setattr(previewer, "_paint", slow_paint)

    async def waited() -> bool:
        return True

    async def left() -> bool:
        return False

    async def scenario() -> list[PreviewImage | None]:
        settings = Settings(method="fast")
        photo = Picture(rgb=np.zeros((4, 4, 3), np.float32), alpha=None, bits=8)
        calls = [previewer.paint(photo, photo, settings, wanted) for wanted in (waited, left, waited, waited)]
        tasks = [asyncio.create_task(call) for call in calls]
        await asyncio.sleep(0)  # all four are admitted and wait their turn
        with pytest.raises(PreviewBusy):
            await previewer.paint(photo, photo, settings, waited)
        return await asyncio.gather(*tasks)

    results = asyncio.run(scenario())
    assert [r is not None for r in results] == [True, False, True, True]
    assert painting == {"now": 0, "most": 1, "count": 3}


# -------------------------------------------------------------------------------- the queue's limit


def test_a_full_queue_answers_429_and_queued_jobs_cancel_at_once(
    make_client: MakeClient, photo: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Runner, "start", lambda self: None)  # nothing runs: the queue only fills
    client = make_client(max_queued=2)
    first, second = (submit(client, photo, **TINY).json() for _ in range(2))
    assert (first["queue_position"], second["queue_position"]) == (0, 1)
    full = submit(client, photo, **TINY)
    assert full.status_code == 429
    assert "queue is full" in full.json()["error"]

    cancelled = client.post(first["links"]["cancel"]).json()
    assert cancelled["state"] == "cancelled"
    assert client.get(second["links"]["job"]).json()["queue_position"] == 0
    assert submit(client, photo, **TINY).status_code == 201


# ------------------------------------------------------------------------------------- bad input


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height: a decompression bomb as far as a reader can tell."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def psd_header(width: int, height: int) -> bytes:
    """A Photoshop file header claiming width x height, and no pixels."""
    return struct.pack(">4sH6sHIIHH", b"8BPS", 1, b"\0" * 6, 3, height, width, 8, 3) + b"\0" * 64


def exr_header(width: int, height: int) -> bytes:
    """A real OpenEXR header whose data window claims width x height, and no pixels."""
    from brushwork.codecs import exr

    data = exr.encode(np.zeros((2, 2, 3), np.float32), None, {})
    at = data.index(b"dataWindow\0box2i\0") + len(b"dataWindow\0box2i\0") + 4
    return data[:at] + struct.pack("<4i", 0, 0, width - 1, height - 1) + data[at + 16 :]


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        (lambda photo: b"%PDF-1.4 not an image at all", "not a JPEG, PNG"),
        (lambda photo: photo[: len(photo) // 2], "truncated"),
        (lambda photo: b"", "empty"),
        (lambda photo: header_only_png(6_000, 6_000), "more than the limit of 20000000"),
        (lambda photo: header_only_png(30_000, 30_000), "too large"),
        (lambda photo: psd_header(30_000, 30_000), "more than the limit of 20000000"),
        (lambda photo: exr_header(30_000, 30_000), "more than the limit of 20000000"),
    ],
    ids=["not-an-image", "truncated", "empty", "over-our-limit", "bomb", "psd-bomb", "exr-bomb"],
)
def test_unusable_images_are_400_with_a_reason(
    client: TestClient, photo: bytes, upload: Callable[[bytes], bytes], expected: str
) -> None:
    response = submit(client, upload(photo), **TINY)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "the content image" in error and expected in error
    assert "/" not in error.split("image")[0]  # the server's file paths are not shown
    assert client.get("/api/jobs").json()["total"] == 0


def test_a_bad_style_upload_is_400_too(client: TestClient, photo: bytes) -> None:
    response = submit(client, photo, style=b"GIF89a broken", **TINY)
    assert response.status_code == 400 and "the style image" in response.json()["error"]


def test_uploads_over_the_size_limit_are_413(make_client: MakeClient, photo: bytes) -> None:
    client = make_client(max_upload_bytes=len(photo) + 10)
    assert submit(client, photo, **TINY).status_code == 201
    big = photo + b"\0" * 200  # still a readable JPEG, just over the limit
    response = submit(client, big, **TINY)
    assert response.status_code == 413 and "the content image is larger" in response.json()["error"]
    huge = b"\0" * (2 * len(photo) + 300_000)  # past the limit of the whole request (three files and some)
    response = submit(client, huge, **TINY)
    assert response.status_code == 413 and "request is larger" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it arrives
        yield b'--x\r\nContent-Disposition: form-data; name="content"; filename="a.jpg"\r\n\r\n'
        for _ in range(40):
            yield b"\0" * 10_000

    streamed = client.post(
        "/api/jobs", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert streamed.status_code == 413 and "request is larger" in streamed.json()["error"]
    assert client.get("/api/jobs").json()["total"] == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"size": "8"}, "size must be between 16"),
        ({"size": "4096"}, "at most 1024"),
        ({"size": "big"}, "size: "),
        ({"quality": "ultra"}, "quality must be one of draft, normal, high"),
        ({"strength": "1.5"}, "strength must be between 0 and 1"),
        ({"strength": "nan"}, "strength"),
        ({"preserve_color": "hsv"}, "preserve-color must be one of"),
        ({"steps": "0"}, "steps must be at least 1"),
        ({"steps": "100000"}, "steps must be at most 500"),
        ({"style_scale": "40"}, "style-scale must be between"),
        ({"seed": "-1"}, "seed must be between"),
        ({"style_id": "../../etc/passwd"}, "no bundled style"),
    ],
)
def test_bad_settings_are_422_naming_the_setting(
    client: TestClient, photo: bytes, fields: dict[str, str], expected: str
) -> None:
    response = submit(client, photo, **{"size": "48", **fields})
    assert response.status_code == 422
    assert expected in response.json()["error"]


def test_missing_or_doubled_inputs_are_422(client: TestClient, photo: bytes, painting: bytes) -> None:
    no_photo = client.post("/api/jobs", data={"style_id": "starry_night"})
    assert no_photo.status_code == 422 and "content" in no_photo.json()["error"]
    no_style = submit(client, photo, style_id=None, **TINY)
    assert no_style.status_code == 422 and "style" in no_style.json()["error"]
    both = client.post(
        "/api/jobs",
        files={"content": ("a.jpg", photo), "style": ("b.png", painting)},
        data={"style_id": "starry_night"},
    )
    assert both.status_code == 422


def test_client_file_names_never_reach_the_filesystem(
    client: TestClient, photo: bytes, tmp_path: Path
) -> None:
    job = submit(client, photo, content_name="../../../escaped.jpg", **TINY).json()
    wait_for_job(client, job["id"], is_final)
    data_dir = tmp_path / "data"
    assert not list(tmp_path.rglob("escaped*"))
    names = sorted(p.name for p in (data_dir / "jobs" / job["id"]).iterdir())
    assert names == ["content.png", "content.upload", "result.png", "style.png", "style.upload", "thumb.png"]


@pytest.mark.parametrize(
    "path", ["/api/jobs/..%2F..%2Fjobs.sqlite3", "/api/jobs/abc/result.png", "/api/jobs/" + "A" * 32]
)
def test_malformed_job_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and "error" in response.json()


# ----------------------------------------------------------------------------- token, host, origin


def test_with_a_token_every_api_call_needs_it(make_client: MakeClient) -> None:
    client = make_client(base_url="http://192.0.2.7:8000", token=TOKEN)
    denied = client.get("/api/info")
    assert denied.status_code == 401 and "token" in denied.json()["error"]
    assert denied.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/jobs", headers={"Authorization": "Bearer wrong-token-here"}).status_code == 401
    assert client.post("/api/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/info", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/").status_code == 200  # the page itself asks for the token

    wrong = client.get("/?token=guess", follow_redirects=False)
    assert wrong.status_code == 200 and "set-cookie" not in wrong.headers
    login = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    assert client.get("/api/info").status_code == 200  # the cookie now stands for the token


def test_without_a_token_only_local_host_names_are_answered(client: TestClient) -> None:
    assert client.get("/api/info", headers={"Host": "localhost:8000"}).status_code == 200
    assert client.get("/api/info", headers={"Host": "[::1]:8000"}).status_code == 200
    rebound = client.get("/api/info", headers={"Host": "attacker.example:8000"})
    assert rebound.status_code == 400 and "localhost" in rebound.json()["error"]


def test_cross_origin_changes_are_refused(client: TestClient, photo: bytes) -> None:
    files = {"content": ("a.jpg", photo)}
    data = {"style_id": "starry_night", **TINY}
    foreign = client.post("/api/jobs", files=files, data=data, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    own = client.post("/api/jobs", files=files, data=data, headers={"Origin": "http://127.0.0.1"})
    assert own.status_code == 201


# --------------------------------------------------------------------------- the page and the schema


def test_the_page_and_its_assets_load_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/app.js" in assets and "/static/style.css" in assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    for path in STATIC_DIR.glob("*.*"):
        if path.suffix in (".html", ".js", ".css"):
            assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()), path.name


def test_the_gallery_lists_bundled_paintings_that_load(client: TestClient) -> None:
    styles = client.get("/api/styles").json()
    assert [s["id"] for s in styles] == list(GALLERY)
    for style in styles:
        image = client.get(style["url"])
        assert image.status_code == 200
        with Image.open(io.BytesIO(image.content)) as im:
            assert max(im.size) <= 512


def test_the_openapi_schema_documents_the_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/jobs"]) == {"get", "post"}
    assert "multipart/form-data" in paths["/api/jobs"]["post"]["requestBody"]["content"]
    assert set(paths["/api/jobs/{job_id}"]) == {"get", "delete"}
    for path in ("events", "cancel", "preview.png", "result.png"):
        assert f"/api/jobs/{{job_id}}/{path}" in paths
    assert "429" in paths["/api/jobs"]["post"]["responses"]
    assert "image/png" in paths["/api/preview"]["post"]["responses"]["200"]["content"]
    assert "method" in str(schema["components"]["schemas"])


# --------------------------------------------------------------------------- regions and finishing

DATA = Path(__file__).parent / "data"
FAST = {"method": "fast", "size": "48"}


def png_of(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def half_mask(width: int = 64, height: int = 48) -> bytes:
    """White (paint) on the left half, black (keep the photo) on the right."""
    mask = np.zeros((height, width), np.uint8)
    mask[:, : width // 2] = 255
    return png_of(mask)


def as_painted(upload: bytes, size: tuple[int, int], tmp_path: Path) -> np.ndarray:
    """The photo as a job paints it: decoded by brushwork and resized to the output's size."""
    path = tmp_path / "upload.bin"
    path.write_bytes(upload)
    rgb = imageio.resize(imageio.read_image(path).rgb, size)
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.int16)


def finished(client: TestClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    job = wait_for_job(client, response.json()["id"], is_final)
    assert job["state"] == "done", job
    return job


def test_a_masked_job_paints_only_where_the_mask_is_white(
    client: TestClient, photo: bytes, tmp_path: Path
) -> None:
    job = finished(client, submit(client, photo, mask=half_mask(), **FAST))
    assert job["settings"]["mask"] == "mask.upload"  # the stored file, never the server's path
    result = client.get(job["links"]["result"]).content
    change = np.abs(pixels(result) - as_painted(photo, (48, 36), tmp_path)).mean(axis=2)
    assert change[:, 28:].mean() < 1.5 < 10 < change[:, :20].mean()  # the mask's edge is at x = 24
    record = png_text(result)["brushwork"]
    assert json.loads(record)["settings"]["mask"] == "mask.upload" and str(tmp_path) not in record
    assert (tmp_path / "data" / "jobs" / job["id"] / "mask.upload").is_file()

    inverted = finished(client, submit(client, photo, mask=half_mask(), invert_mask="true", **FAST))
    result = client.get(inverted["links"]["result"]).content
    change = np.abs(pixels(result) - as_painted(photo, (48, 36), tmp_path)).mean(axis=2)
    assert change[:, :20].mean() < 1.5 < 10 < change[:, 28:].mean()


def test_a_preview_takes_a_mask_too_and_keeps_nothing(
    client: TestClient, photo: bytes, tmp_path: Path
) -> None:
    response = preview(client, photo, mask=half_mask(), size="48")
    assert response.status_code == 200, response.text
    change = np.abs(pixels(response.content) - as_painted(photo, (48, 36), tmp_path)).mean(axis=2)
    assert change[:, 28:].mean() < 1.5 < 10 < change[:, :20].mean()
    assert list((tmp_path / "data" / "incoming").iterdir()) == []


def test_subject_and_background_follow_the_person(client: TestClient, tmp_path: Path) -> None:
    face = (DATA / "face.jpg").read_bytes()  # 96x128: painted at 48x64
    with Image.open(DATA / "face_mask.png") as drawn:  # head and shoulders, drawn by hand
        person = np.asarray(drawn.convert("L").resize((48, 64), Image.Resampling.NEAREST)) > 127
    original = as_painted(face, (48, 64), tmp_path)
    job = finished(client, submit(client, face, mask_mode="subject", method="fast", size="64"))
    assert job["settings"]["mask"] == "subject"
    change = np.abs(pixels(client.get(job["links"]["result"]).content) - original).mean(axis=2)
    assert change[person].mean() > 3 * change[~person].mean(), (change[person].mean(), change[~person].mean())

    background = preview(client, face, mask_mode="background", size="64")
    assert background.status_code == 200, background.text
    change = np.abs(pixels(background.content) - original).mean(axis=2)
    assert change[~person].mean() > 3 * change[person].mean(), (change[~person].mean(), change[person].mean())


def test_finishing_adjusts_the_stored_painting_without_painting_again(
    client: TestClient, photo: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished(client, submit(client, photo, **FAST))
    url = job["links"]["result"]
    stored = tmp_path / "data" / "jobs" / job["id"] / "result.png"
    plain = client.get(url).content
    assert plain == stored.read_bytes()

    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("the transfer ran again")

    monkeypatch.setattr("brushwork.server.runner.stylize", forbidden)
    monkeypatch.setattr("brushwork.server.preview.stylize", forbidden)
    started = time.perf_counter()
    brighter = client.get(f"{url}?brightness=1.5")
    seconds = time.perf_counter() - started
    assert brighter.status_code == 200 and brighter.headers["content-type"] == "image/png"
    expected = np.clip(np.rint(pixels(plain) * 1.5), 0, 255)
    assert np.abs(pixels(brighter.content) - expected).max() <= 1
    assert pixels(brighter.content).mean() > 1.25 * pixels(plain).mean()
    assert json.loads(png_text(brighter.content)["brushwork"])["settings"]["brightness"] == 1.5
    download = client.get(f"{url}?download=1&brightness=1.5")
    assert download.content == brighter.content
    assert download.headers["content-disposition"].startswith("attachment;")
    for query in ("sharpen=2", "hue=90", "denoise=0.5", "contrast=1.3&saturation=0"):
        assert np.abs(pixels(client.get(f"{url}?{query}").content) - pixels(plain)).mean() > 1, query

    assert stored.read_bytes() == plain  # the job keeps its painting as it came
    again = client.get(job["links"]["job"]).json()
    assert (again["attempts"], again["finished"], again["state"]) == (1, job["finished"], "done")
    assert client.get("/api/jobs").json()["total"] == 1
    print(f"brightness on a 48 px result: {seconds * 1000:.0f} ms")


def test_a_jobs_own_finishing_is_its_default_view(client: TestClient, photo: bytes, tmp_path: Path) -> None:
    job = finished(client, submit(client, photo, brightness="1.4", saturation="0", **FAST))
    assert (job["settings"]["brightness"], job["settings"]["saturation"]) == (1.4, 0.0)
    stored = (tmp_path / "data" / "jobs" / job["id"] / "result.png").read_bytes()
    shown = pixels(client.get(job["links"]["result"]).content)
    assert np.ptp(shown, axis=2).max() <= 2  # saturation 0: grey
    raw = client.get(f"{job['links']['result']}?brightness=1&saturation=1").content
    assert raw == stored and np.ptp(pixels(raw), axis=2).max() > 20  # the painting as it came
    assert json.loads(png_text(raw)["brushwork"])["settings"]["brightness"] == 1.0
    thumb = pixels(client.get(job["links"]["thumb"]).content)
    assert np.ptp(thumb, axis=2).max() <= 2  # the history shows the job as asked


def test_adjust_finishes_an_uploaded_picture(client: TestClient, photo: bytes) -> None:
    picture = preview(client, photo, size="48").content
    response = client.post("/api/adjust", files={"image": ("p.png", picture)}, data={"brightness": "0.5"})
    assert response.status_code == 200, response.text
    assert np.abs(pixels(response.content) - np.rint(pixels(picture) * 0.5)).max() <= 1
    finished_preview = preview(client, photo, size="48", brightness="0.5")  # a preview may come finished
    assert np.abs(pixels(finished_preview.content) - pixels(response.content)).max() <= 1
    too_big = png_of(np.zeros((8, 1100, 3), np.uint8))
    refused = client.post("/api/adjust", files={"image": ("p.png", too_big)}, data={"sharpen": "1"})
    assert refused.status_code == 413 and "at most 1024 px" in refused.json()["error"]
    typo = client.post("/api/adjust", files={"image": ("p.png", picture)}, data={"brightnes": "2"})
    assert typo.status_code == 422 and "unknown form field(s) brightnes" in typo.json()["error"]
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/adjust"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]) == ADJUST_FIELDS


@pytest.mark.parametrize(
    ("where", "fields", "mask", "status", "expected"),
    [
        ("result", {"brightness": "9"}, None, 422, "brightness must be between 0 and 4"),
        ("result", {"hue": "abc"}, None, 422, "hue: Input should be a valid number"),
        ("result", {"denoise": "nan"}, None, 422, "denoise must be a number"),
        ("jobs", {"sharpen": "-1"}, None, 422, "sharpen must be between 0 and 5"),
        ("jobs", {"mask_mode": "sky"}, None, 422, "mask_mode must be one of subject, background, faces"),
        ("jobs", {"mask_mode": "subject"}, "half", 422, "either a mask image (mask) or a mask_mode"),
        ("jobs", {"invert_mask": "true"}, None, 422, "invert-mask needs"),
        ("jobs", {"protect_faces": "maybe"}, None, 422, "protect_faces: "),
        ("jobs", {"protect_faces": "1"}, None, 422, "protect_faces: Value error, must be true or false"),
        ("jobs", {}, "pdf", 400, "cannot read the mask image: not a JPEG, PNG"),
        ("jobs", {}, "black", 400, "the mask image: the mask keeps everything"),
        (
            "jobs",
            {"invert_mask": "true"},
            "white",
            400,
            "the mask image (inverted): the mask keeps everything",
        ),
        ("preview", {"mask_mode": "faces"}, None, 400, "mask 'faces': no face found in the photo"),
        ("preview", {"contrast": "-2"}, None, 422, "contrast must be between 0 and 4"),
        ("adjust", {"saturation": "5"}, None, 422, "saturation must be between 0 and 4"),
    ],
)
def test_bad_regions_and_finishing_are_one_line_refusals(
    client: TestClient,
    photo: bytes,
    tmp_path: Path,
    where: str,
    fields: dict[str, str],
    mask: str | None,
    status: int,
    expected: str,
) -> None:
    masks = {
        "half": half_mask(),
        "pdf": b"%PDF-1.4 not an image",
        "black": png_of(np.zeros((48, 64), np.uint8)),
        "white": png_of(np.full((48, 64), 255, np.uint8)),
    }
    upload = masks[mask] if mask else None
    if where == "result":
        job = finished(client, submit(client, photo, **FAST))
        response = client.get(job["links"]["result"], params=fields)
    elif where == "jobs":
        response = submit(client, photo, mask=upload, **FAST, **fields)
    elif where == "preview":
        response = preview(client, photo, mask=upload, size="48", **fields)
    else:
        picture = png_of(np.zeros((8, 8, 3), np.uint8))
        response = client.post("/api/adjust", files={"image": ("p.png", picture)}, data=fields)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert expected in error and "\n" not in error
    assert str(tmp_path) not in error and "upload" not in error  # no server paths or file names
    if where == "jobs":
        assert client.get("/api/jobs").json()["total"] == 0
    assert list((tmp_path / "data" / "incoming").iterdir()) == []


def test_adjustments_wait_their_turn_and_are_kept_for_the_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    finisher = Finisher(max_pixels=10_000)
    made = {"now": 0, "most": 0, "count": 0}
    release = threading.Event()

    def slow_adjust(source: Path, after: After) -> bytes:
        made["now"] += 1
        made["most"] = max(made["most"], made["now"])
        release.wait(5)
        made["now"] -= 1
        made["count"] += 1
        return f"{source.name} {after.brightness}".encode()

    monkeypatch.setattr(finisher, "_adjust_file", slow_adjust)
    results: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda b=b: results.append(finisher.stored(tmp_path / "r.png", After(b), "job"))
        )
        for b in (1.1, 1.2, 1.3, 1.4)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while finisher._admitted < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(FinishBusy):
        finisher.stored(tmp_path / "r.png", After(1.5), "job")
    release.set()
    for thread in threads:
        thread.join(5)
    assert sorted(results) == [f"r.png {b}".encode() for b in (1.1, 1.2, 1.3, 1.4)]
    assert made == {"now": 0, "most": 1, "count": 4}
    assert finisher.stored(tmp_path / "r.png", After(1.2), "job") == b"r.png 1.2"  # kept: not made again
    assert made["count"] == 4
