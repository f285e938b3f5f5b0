"""``server.json`` in the data directory: how plug-ins on this machine find a running server.

It holds ``url`` (``http://HOST:PORT``, the real port, no trailing slash), ``token`` (null without
one), ``pid`` and ``version``; it is readable by its owner only (it may hold the token), written
atomically, and removed when the server stops (unless another server has written its own since).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

from brushwork import __version__

FILENAME = "server.json"
WILDCARDS = ("0.0.0.0", "::", "")


def server_url(sock: socket.socket) -> str:
    """The URL a client on this machine uses: a wildcard address is reached through loopback."""
    host, port = sock.getsockname()[:2]
    if host in WILDCARDS:
        host = "::1" if sock.family == socket.AF_INET6 else "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def write(data_dir: Path, url: str, token: str | None) -> Path:
    path = data_dir / FILENAME
    text = json.dumps({"url": url, "token": token, "pid": os.getpid(), "version": __version__}, indent=2)
    partial = path.with_name(f".{FILENAME}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # also when the partial file was left by a crash with other bits
        out.write(text + "\n")
    os.replace(partial, path)
    return path


def remove(data_dir: Path) -> None:
    """Remove the file if it is still this process's."""
    path = data_dir / FILENAME
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
