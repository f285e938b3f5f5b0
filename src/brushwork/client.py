"""A client for ``brushwork serve``, with Python's standard library only.

The editors' plug-ins (integrations/) each carry an identical copy of this file, named
``brushwork_client.py``, because the editors' own Pythons have no numpy, torch or brushwork. It finds the
server (:func:`discover`), uploads a photo and a painting, follows the job's progress over its event
stream, cancels it, and fetches the result. Every failure is a :class:`BrushworkError` whose message
is one line a person can act on. Pictures travel as encoded bytes (PNG): the editor decodes, scales
and encodes them with its own tools, at the sizes :func:`upload_size` and :func:`fit_upload` pick
from the server's limits.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DISCOVERY_FILE = "server.json"
START_HINT = "start one with `brushwork serve` (or set BRUSHWORK_URL and BRUSHWORK_TOKEN)"
FINAL_STATES = ("done", "failed", "cancelled")
STREAM_TIMEOUT = 60.0  # the server sends a keep-alive every 15 s on an idle event stream
MIN_SIDE = 16

Job = dict[str, Any]
Progress = Callable[[Job], None]


class BrushworkError(Exception):
    """Something the user must know, in one line."""


class Cancelled(BrushworkError):
    """The job was cancelled."""


def data_dir() -> Path:
    """The server's default data directory (as ``brushwork serve`` picks it)."""
    explicit = os.environ.get("BRUSHWORK_DATA_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "brushwork"


def discover(url: str | None = None, token: str | None = None, *, timeout: float = 30.0) -> Client:
    """A client for the server at ``url``, else ``$BRUSHWORK_URL``, else the one that the default data
    directory's ``server.json`` names; the token likewise from ``token``, ``$BRUSHWORK_TOKEN`` or the
    file."""
    url = url or os.environ.get("BRUSHWORK_URL") or None
    token = token or os.environ.get("BRUSHWORK_TOKEN") or None
    if url:
        return Client(url, token, timeout=timeout)
    path = data_dir() / DISCOVERY_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        url = str(found["url"])
    except FileNotFoundError:
        raise BrushworkError(
            f"no brushwork server is running here ({path} is missing): {START_HINT}"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BrushworkError(f"cannot read {path}: {error}") from None
    return Client(url, token or found.get("token"), timeout=timeout)


def upload_size(
    width: int, height: int, limits: dict[str, Any], long_side: int | None = None
) -> tuple[int, int]:
    """The size to upload a ``width`` x ``height`` picture at: no larger than the output needs
    (``long_side``, else the server's ``max_size``) and within the server's pixel limit."""
    if width < 1 or height < 1:
        raise BrushworkError(f"the picture is empty ({width}x{height})")
    target = min(long_side or limits["max_size"], limits["max_size"])
    factor = min(1.0, target / max(width, height), math.sqrt(limits["max_pixels"] / (width * height)))
    return scaled(width, height, factor)


def scaled(width: int, height: int, factor: float) -> tuple[int, int]:
    if factor >= 1.0:
        return width, height
    return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


def fit_upload(
    encode: Callable[[int, int], bytes],
    width: int,
    height: int,
    limits: dict[str, Any],
    long_side: int | None = None,
) -> bytes:
    """``encode(w, h)``'s bytes at :func:`upload_size`, smaller again while they exceed the upload limit."""
    w, h = upload_size(width, height, limits, long_side)
    while True:
        data = encode(w, h)
        if len(data) <= limits["max_upload_bytes"]:
            return data
        w, h = scaled(w, h, 0.9 * math.sqrt(limits["max_upload_bytes"] / len(data)))
        if min(w, h) < MIN_SIDE:
            raise BrushworkError(
                f"the picture does not fit the server's upload limit of {limits['max_upload_bytes']} bytes"
            )


class Client:
    """One server. Safe to share between threads: each call makes its own connection."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token or None
        self.timeout = timeout
        # Never through a proxy: the server is on this machine (or reached directly).
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"Client({self.url!r}, token={'...' if self.token else None})"

    # The API.

    def info(self) -> dict[str, Any]:
        """Version, device and ``limits`` (max_upload_bytes, max_pixels, max_size, ...)."""
        info: dict[str, Any] = self._json("GET", "/api/info")
        return info

    def styles(self) -> list[dict[str, Any]]:
        """The server's gallery: ``id``, ``title``, ``artist``, ``year``."""
        styles: list[dict[str, Any]] = self._json("GET", "/api/styles")
        return styles

    def submit(
        self,
        content: bytes,
        *,
        style: bytes | None = None,
        style_id: str | None = None,
        method: str = "optimize",
        strength: float = 0.5,
        size: int | None = None,
        mask: bytes | None = None,
        **fields: str | int | float,
    ) -> Job:
        """Queue a job: ``content`` and ``style`` (or a gallery ``style_id``) as encoded images."""
        if (style is None) == (style_id is None):
            raise BrushworkError("give a style image or a gallery style id, not both or neither")
        form: dict[str, Any] = {"method": method, "strength": strength, **fields}
        if size is not None:
            form["size"] = size
        if style_id is not None:
            form["style_id"] = style_id
        files = {"content": content, "style": style, "mask": mask}
        body, content_type = _multipart(form, {k: v for k, v in files.items() if v is not None})
        job: Job = self._json("POST", "/api/jobs", body, content_type)
        return job

    def job(self, job_id: str) -> Job:
        job: Job = self._json("GET", f"/api/jobs/{job_id}")
        return job

    def cancel(self, job_id: str) -> Job:
        """Ask the server to stop the job (at once when queued, at its next step when running); a job
        that has already ended is left as it is."""
        try:
            job: Job = self._json("POST", f"/api/jobs/{job_id}/cancel")
        except BrushworkError as error:
            if "HTTP 409" not in str(error):
                raise
            return self.job(job_id)
        return job

    def result(self, job_id: str) -> bytes:
        """The finished picture, as PNG bytes."""
        with self._open("GET", f"/api/jobs/{job_id}/result.png") as response:
            data: bytes = response.read()
            return data

    def events(self, job_id: str) -> Iterator[Job]:
        """The job each time it changes, from the server's event stream, until it ends (or the stream
        breaks off: then the caller looks again)."""
        return (job for job in self._stream(job_id) if job is not None)

    def _stream(self, job_id: str) -> Iterator[Job | None]:
        """The stream's jobs, and None for each keep-alive."""
        with self._open("GET", f"/api/jobs/{job_id}/events", timeout=STREAM_TIMEOUT) as response:
            kind, data = "", ""
            try:
                for raw in response:
                    line = raw.decode("utf-8").rstrip("\r\n")
                    if line.startswith(":"):
                        yield None
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif not line:
                        if kind == "job":
                            yield json.loads(data)
                        elif kind == "end":
                            return
                        kind, data = "", ""
            except (OSError, http.client.HTTPException):
                return  # broken off (a timeout, a restart): the caller asks for the job itself

    def follow(
        self, job_id: str, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None
    ) -> Job:
        """Wait for the job to end, calling ``progress(job)`` on each change; when ``cancelled()``
        turns true, cancel it. Returns the done job; raises :class:`Cancelled` or a
        :class:`BrushworkError` with the server's reason when it did not finish."""
        job = self.job(job_id)
        asked = False
        while job["state"] not in FINAL_STATES:
            try:
                for changed in self._stream(job_id):
                    if changed is not None and progress is not None:
                        progress(changed)
                    if cancelled is not None and cancelled() and not asked:
                        self.cancel(job_id)
                        asked = True
            except BrushworkError as error:
                if "did not answer" not in str(error):
                    raise
            job = self.job(job_id)  # the stream ended: the job did too, or the stream broke off
        if job["state"] == "cancelled":
            raise Cancelled("the painting was cancelled")
        if job["state"] == "failed":
            raise BrushworkError(f"the server could not paint it: {job.get('error') or 'no reason given'}")
        return job

    def stylize(
        self,
        content: bytes,
        *,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
        **options: Any,
    ) -> bytes:
        """Submit, follow and fetch: the painting as PNG bytes (see :meth:`submit` for ``options``)."""
        job = self.submit(content, **options)
        self.follow(job["id"], progress, cancelled)
        return self.result(job["id"])

    # HTTP.

    def _json(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Any:
        with self._open(method, path, body, content_type) as response:
            return json.loads(response.read().decode("utf-8"))

    def _open(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            return self._opener.open(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as error:
            raise BrushworkError(_http_problem(error, bool(self.token))) from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise BrushworkError(f"the brushwork server at {self.url} did not answer in time") from None
            raise BrushworkError(
                f"cannot reach the brushwork server at {self.url} ({reason}): {START_HINT}"
            ) from None
        except TimeoutError:
            raise BrushworkError(f"the brushwork server at {self.url} did not answer in time") from None
        except OSError as error:
            raise BrushworkError(
                f"cannot reach the brushwork server at {self.url} ({error}): {START_HINT}"
            ) from None


def _http_problem(error: urllib.error.HTTPError, have_token: bool) -> str:
    try:
        reason = str(json.loads(error.read().decode("utf-8"))["error"])
    except (OSError, ValueError, KeyError, TypeError):
        reason = error.reason or "no reason given"
    if error.code == 401:
        hint = "the token is wrong" if have_token else "set BRUSHWORK_TOKEN or pass the token"
        return f"the brushwork server refused the request: {reason} ({hint}; HTTP 401)"
    return f"the brushwork server refused the request: {' '.join(str(reason).split())} (HTTP {error.code})"


def _multipart(fields: dict[str, Any], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        header = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)  # as the API reads
        parts.append(header.encode() + text.encode("utf-8") + b"\r\n")
    for name, data in files.items():
        header = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(header.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
