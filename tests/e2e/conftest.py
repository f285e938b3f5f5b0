"""The ``start_server`` fixture: real ``brushwork serve`` processes on free loopback ports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serverproc import ServerProcess, StartServer


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(data_dir, *options)`` runs ``python -m brushwork serve`` and waits until it answers."""
    started: list[ServerProcess] = []

    def start(data_dir: Path, *options: str, timeout: float = 60) -> ServerProcess:
        log_path = tmp_path / f"server-{len(started)}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
        env = {key: value for key, value in os.environ.items() if key != "BRUSHWORK_TOKEN"}
        env["OMP_NUM_THREADS"] = "1"
        command = [sys.executable, "-m", "brushwork", "serve", "--port", "0", "--threads", "1"]
        command += ["--data-dir", str(data_dir), *options]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        server = ServerProcess(process, "", data_dir, log_path, log)
        started.append(server)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}:\n{server.output()}")
            announced = re.search(r"serving (http://127\.0\.0\.1:\d+)/", server.output())
            if announced:
                server.url = announced.group(1)
                try:
                    if httpx.get(f"{server.url}/api/info", timeout=2).status_code in (
                        200,
                        401,
                    ):  # 401: a token
                        return server
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not answer in {timeout} s:\n{server.output()}")
            time.sleep(0.1)

    yield start
    for server in started:
        if server.process.poll() is None:
            server.kill()
        server.log.close()
