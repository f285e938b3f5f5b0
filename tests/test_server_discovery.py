"""server.json, written by ``brushwork serve`` (the live round trip is in e2e/test_client_live.py)."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from brushwork.server import discovery


@pytest.mark.parametrize(
    ("family", "host", "expected"),
    [
        (socket.AF_INET, "127.0.0.1", "http://127.0.0.1:{port}"),
        (socket.AF_INET, "0.0.0.0", "http://127.0.0.1:{port}"),  # a wildcard is reached through loopback
        (socket.AF_INET6, "::1", "http://[::1]:{port}"),
    ],
)
def test_the_url_has_the_real_port_and_no_trailing_slash(family: int, host: str, expected: str) -> None:
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((host, 0))
    except OSError as error:
        pytest.skip(f"cannot bind {host} here: {error}")
    with sock:
        assert discovery.server_url(sock) == expected.format(port=sock.getsockname()[1])


def test_the_file_is_private_and_only_its_writer_removes_it(tmp_path: Path) -> None:
    (tmp_path / ".server.json.1").write_text("left by a crash")
    path = discovery.write(tmp_path, "http://127.0.0.1:8123", None)
    assert json.loads(path.read_text())["token"] is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".server.json.")] == [".server.json.1"]

    path.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid() + 1}))
    discovery.remove(tmp_path)  # another server's file: kept
    assert path.exists()
    discovery.write(tmp_path, "http://127.0.0.1:8123", "t0ken-123")
    discovery.remove(tmp_path)
    assert not path.exists()
    discovery.remove(tmp_path)  # no file: nothing to do
