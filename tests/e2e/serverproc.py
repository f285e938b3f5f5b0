"""Helpers for tests that run real ``brushwork serve`` processes (the fixture is in conftest.py)."""

from __future__ import annotations

import io
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from PIL import Image

DATA = Path(__file__).parent.parent / "data"


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log_path: Path
    log: IO[bytes] = field(repr=False)

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash or the OOM killer."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int:
        return self.process.pid


StartServer = Callable[..., ServerProcess]


def wait_for_job(
    client: httpx.Client, job_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if done(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job did not get there in {timeout} s: {job}")
        time.sleep(0.1)


def is_final(job: dict[str, Any]) -> bool:
    return job["state"] in ("done", "failed", "cancelled")


def small_jpeg(name: str = "tubingen.jpg", long_side: int = 64) -> bytes:
    with Image.open(DATA / name) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=90)
    return out.getvalue()


def submit(client: httpx.Client, photo: bytes, **fields: str) -> dict[str, Any]:
    data = {"style_id": "starry_night", "quality": "draft", **fields}
    response = client.post("/api/jobs", files={"content": ("photo.jpg", photo, "image/jpeg")}, data=data)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]
