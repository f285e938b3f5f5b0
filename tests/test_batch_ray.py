"""``brushwork batch --engine ray`` against a real Ray instance (a head with 2 CPUs) started by the test.

Ray picks its node address from the network interfaces and probes a public address to find it; so the
head, its workers and the driver all run in a private network namespace that has only loopback, where
Ray runs as node 127.0.0.1 and no traffic can leave the machine. That needs root (``unshare --net``) and
util-linux's nsenter: elsewhere these tests are skipped, except in CI (CI=true), where they fail. The
cluster runs with token authentication, as the README's recipe sets it up.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchkit import (
    DATA,
    SLOW_FLAGS,
    STYLE,
    TINY_FLAGS,
    attempts,
    copy_images,
    ledger,
    mixed_folder,
    outputs,
)
from ci import unavailable

pytestmark = pytest.mark.slow  # a Ray head and two drivers: about half a minute

RAY_PORT = 6379  # free: nothing else listens in the private namespace
ADDRESS = f"127.0.0.1:{RAY_PORT}"
BIN = Path(sys.executable).parent
TASK_TITLE = "ray::stylize_item"  # a Ray worker's process title while it runs an item
CLUSTER_TOKEN = secrets.token_hex(32)  # the test cluster's


def _unavailable() -> str | None:
    if importlib.util.find_spec("ray") is None:
        return "needs Ray (pip install 'brushwork[ray]')"
    if os.geteuid() != 0:
        return "needs root for a private network namespace (unshare --net)"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install util-linux iproute2)"
    if shutil.which("ray", path=str(BIN)) is None:
        return "needs the ray command beside this Python (pip install 'brushwork[ray]')"
    return None


@dataclass(frozen=True)
class Namespace:
    """A network namespace with only loopback, held open by a sleeping process."""

    holder: int

    def command(self, *argv: object) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.holder}/ns/net", "--", *map(str, argv)]

    def pids(self) -> list[int]:
        """Every process in the namespace but the holder: what the tests started there."""
        mine = os.readlink(f"/proc/{self.holder}/ns/net")
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != self.holder:
                try:
                    if os.readlink(f"/proc/{entry}/ns/net") == mine:
                        found.append(int(entry))
                except OSError:
                    continue
        return found


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    reason = _unavailable()
    if reason is not None:
        unavailable(f"the Ray tests {reason}")
    holder = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", "ip link set lo up && echo ready && exec sleep 3600"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    space = Namespace(holder.pid)
    try:
        yield space
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in space.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while space.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        holder.kill()
        holder.wait()


def _env() -> dict[str, str]:
    """The cluster's environment, and its drivers': token authentication, as the README's recipe sets
    it up, with the token in the environment (Ray reads it first) so that no token file is made."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["RAY_AUTH_MODE"] = "token"
    env["RAY_AUTH_TOKEN"] = CLUSTER_TOKEN
    return env


@pytest.fixture(scope="module")
def cluster(namespace: Namespace) -> Iterator[Namespace]:
    temp = tempfile.mkdtemp(prefix="bwray", dir="/tmp")  # short: Ray's socket paths have a length limit
    start = namespace.command(
        BIN / "ray", "start", "--head", "--node-ip-address", "127.0.0.1", "--port", RAY_PORT,
        "--num-cpus", 2, "--num-gpus", 0, "--disable-usage-stats", "--include-dashboard=false",
        "--object-store-memory", 100 * 2**20, "--temp-dir", temp,
    )  # fmt: skip
    started = subprocess.run(start, env=_env(), capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield namespace
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def batch_command(namespace: Namespace, *argv: object) -> list[str]:
    common = ["--engine", "ray", "--address", ADDRESS, "--threads", 1, "--quiet", "--json"]
    return namespace.command(sys.executable, "-m", "brushwork", "batch", *argv, *common)


def _listening(namespace: Namespace) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses TCP sockets listen on in the namespace (IPv4 and IPv6)."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{namespace.holder}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            # Each 32-bit word is printed in the host's byte order (little-endian here).
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            address = ipaddress.ip_address(raw)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            found.add(address)
    return found


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(e.decode(errors="replace").partition("=")[::2] for e in entries if b"=" in e)


def test_without_an_address_a_private_ray_instance_runs_the_batch_with_a_token_on_loopback(
    namespace: Namespace, tmp_path: Path
) -> None:
    """Runs before the cluster starts (module order); its Ray keeps its files in a temporary folder.
    While it runs, its GCS must have token authentication on (with a token held in its environment,
    not in a file) and every socket in the namespace must listen on loopback only."""
    copy_images(tmp_path / "in", ["tubingen.jpg", "lion.jpg"])
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "brushwork", "batch", tmp_path / "in", "--styles", STYLE, "-o", out]
    command = namespace.command(*argv, *TINY_FLAGS, "--engine", "ray", "--threads", 1, "--quiet", "--json")
    temp = tempfile.mkdtemp(prefix="bwray", dir="/tmp")
    had_token = (Path.home() / ".ray" / "auth_token").exists()
    env = {**_env(), "RAY_TMPDIR": temp, "RAY_AUTH_MODE": "disabled"}  # brushwork turns it on all the same
    del env["RAY_AUTH_TOKEN"]  # and makes its own
    gcs_env: dict[str, str] | None = None
    listening: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    driver = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while driver.poll() is None and time.monotonic() < deadline:
            for pid in namespace.pids():
                with contextlib.suppress(OSError):
                    if gcs_env is None and Path(f"/proc/{pid}/comm").read_text().strip() == "gcs_server":
                        # Just after exec the new name shows before the environment is set up: an
                        # empty read means "not yet", so look again on the next round.
                        gcs_env = _environment(pid) or None
            listening |= _listening(namespace)
            time.sleep(0.05)
        stdout, stderr = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        shutil.rmtree(temp, ignore_errors=True)
    assert driver.returncode == 0, stderr
    summary = json.loads(stdout)
    assert (summary["engine"], summary["done"], summary["failed"]) == ("ray", 2, 0)
    assert set(outputs(out)) == {"tubingen__starry_night.png", "lion__starry_night.png"}
    assert {e["host"] for e in attempts(out)} and all(e["pid"] for e in attempts(out))
    assert not (Path.home() / ".ray" / "auth_token").exists() or had_token  # no token left behind
    assert gcs_env is not None, "Ray's GCS was not seen running"
    assert gcs_env.get("RAY_AUTH_MODE") == "token"
    assert len(gcs_env.get("RAY_AUTH_TOKEN", "")) >= 32 and gcs_env["RAY_AUTH_TOKEN"] != CLUSTER_TOKEN
    assert listening, "no listening socket was seen"
    assert all(address.is_loopback for address in listening), sorted(map(str, listening))


def test_a_mixed_folder_on_ray_gives_every_good_output_and_does_not_retry_a_bad_image(
    cluster: Namespace, tmp_path: Path
) -> None:
    photos = mixed_folder(tmp_path)
    out = tmp_path / "out"
    command = batch_command(cluster, photos, "--styles", STYLE, "-o", out, *TINY_FLAGS)
    run = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=180)
    assert run.returncode == 3, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["engine"], summary["workers"]) == ("ray", 2)
    assert (summary["done"], summary["failed"], summary["ignored"], summary["retries"]) == (2, 1, 1, 0)
    assert set(outputs(out)) == {"tubingen__starry_night.png", "trip/lion__starry_night.png"}
    broken = [e for e in ledger(out) if e.get("item") == "trip/broken__starry_night.png"]
    assert [(e["status"], e["error_type"]) for e in broken] == [("failed", "ImageReadError")]
    assert all(e["host"] and e["pid"] for e in attempts(out))


def test_a_driver_without_the_clusters_token_is_turned_away_with_what_it_needs(
    cluster: Namespace, tmp_path: Path
) -> None:
    env = {**_env(), "HOME": str(tmp_path)}  # no ~/.ray/auth_token there either
    del env["RAY_AUTH_TOKEN"]
    command = batch_command(
        cluster, DATA / "lion.jpg", "--styles", STYLE, "-o", tmp_path / "out", *TINY_FLAGS
    )
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    ours = [line for line in run.stderr.splitlines() if line.startswith("brushwork:")]
    assert len(ours) == 1 and "Traceback" not in run.stderr, run.stderr
    assert ours[0].startswith(f"brushwork: error: cannot start or reach Ray at {ADDRESS}: ")
    assert "RAY_AUTH_MODE=token" in ours[0] and "RAY_AUTH_TOKEN" in ours[0]
    assert run.stdout == ""


def _task_processes(namespace: Namespace) -> list[int]:
    found = []
    for pid in namespace.pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        if title.startswith(TASK_TITLE):
            found.append(pid)
    return found


def test_a_ray_worker_killed_mid_item_is_retried_and_nothing_is_lost_or_doubled(
    cluster: Namespace, tmp_path: Path
) -> None:
    copy_images(tmp_path / "in", ["tubingen.jpg", "lion.jpg", "face.jpg"])
    out = tmp_path / "out"
    command = batch_command(cluster, tmp_path / "in", "--styles", STYLE, "-o", out, *SLOW_FLAGS)
    driver = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        deadline = time.monotonic() + 120
        while killed is None and driver.poll() is None and time.monotonic() < deadline:
            running = _task_processes(cluster)
            if running:
                time.sleep(0.1)  # into the item
                os.kill(running[0], signal.SIGKILL)
                killed = running[0]
            time.sleep(0.02)
        stdout, stderr = driver.communicate(timeout=180)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert killed is not None, "no Ray task was seen running"
    assert driver.returncode == 0, stderr
    summary = json.loads(stdout)
    assert (summary["done"], summary["failed"], summary["retries"]) == (3, 0, 1)
    entries = attempts(out)
    retried = [e for e in entries if e["status"] == "retrying"]
    assert len(retried) == 1 and retried[0]["error_type"] == "WorkerCrashedError"
    tries = [(e["status"], e["attempt"]) for e in entries if e["item"] == retried[0]["item"]]
    assert tries == [("retrying", 1), ("done", 2)]
    done = [e["item"] for e in entries if e["status"] == "done"]
    assert sorted(done) == sorted(set(done)) == sorted(outputs(out))
    assert len(done) == 3 and all(outputs(out).values())
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
