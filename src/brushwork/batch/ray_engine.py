"""The Ray engine: one Ray task per item (Ray core), each asking for its CPUs (and GPUs).

Ray is an optional extra (``pip install 'brushwork[ray]'``). Tasks get paths, not pixels, so inputs
and the output folder must be on a filesystem every node sees at the same path. Ray's own task
retries are off: a task lost with its worker or node comes back to the driver as a ``died`` attempt,
which the driver records in the ledger and submits again, as it does for the local engine; a user's
mistake (an unreadable image) comes back as a failed attempt and is not retried.

Without an address a private Ray instance is started on this machine: it listens on 127.0.0.1 only and
runs with Ray's token authentication, with a fresh token that is never written to a file. A cluster's
own security is its operator's (see the README's "Running on a cluster"): brushwork connects with
whatever ``RAY_AUTH_MODE`` and token the environment gives.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import Any

from brushwork.batch.worker import Attempt, Event, Task, one_line, run_task
from brushwork.errors import UserInputError

INSTALL_HINT = "--engine ray needs Ray: pip install 'brushwork[ray]'"
CONNECT_SECONDS = 5.0
AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")  # what a private instance sets, and puts back
TOKEN_HINT = (
    "a cluster with token authentication needs RAY_AUTH_MODE=token and the cluster's token here, in "
    "RAY_AUTH_TOKEN or ~/.ray/auth_token: see the README's 'Running on a cluster'"
)


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserInputError(INSTALL_HINT) from None
    return ray


def stylize_item(task: Task, threads: int) -> Attempt:
    """The Ray task (its process is titled ``ray::stylize_item`` while it runs)."""
    import torch

    torch.set_num_threads(threads)
    return run_task(task)


def check_reachable(address: str) -> None:
    """Ray retries an address where nothing listens for minutes; a TCP connect answers in seconds."""
    if "://" in address or ":" not in address:  # Ray Client, or "auto" (Ray's own lookup)
        return
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except ValueError:
        raise UserInputError(f"--address must be HOST:PORT, got {address!r}") from None
    except OSError as error:
        raise UserInputError(
            f"cannot reach the Ray cluster at {address} ({error.strerror or error}): is `ray start --head` "
            "running there?"
        ) from None


def _private_token_env() -> Callable[[], None]:
    """Token authentication for a private Ray instance, with a fresh random token that lives only in
    this process's environment (and its children's: Ray's own processes inherit it) and is never
    written to a file; return a function that puts the environment back as it was.

    Ray (from 2.52) checks ``RAY_AUTH_TOKEN`` before any token file, so ``~/.ray/auth_token`` is
    neither read nor created: a token left there would make every later ``ray start`` on this machine
    demand it. The instance also listens on 127.0.0.1 only (``_node_ip_address``), so nothing outside
    this machine can reach it; the token keeps out other users' processes on it too.
    """
    saved = {name: os.environ.get(name) for name in AUTH_ENV}
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    _reload_ray_auth()

    def restore() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reload_ray_auth()

    return restore


def _reload_ray_auth() -> None:
    """Make this process's Ray read RAY_AUTH_MODE and RAY_AUTH_TOKEN again: it keeps both from the
    first time it looked (its own ``_enable_token_auth`` does the same after setting the mode).
    Ray internals: tests/test_batch_ray.py notices if they change."""
    raylet: Any = importlib.import_module("ray._raylet")  # compiled; its stub lacks these two
    raylet.Config.initialize("")
    raylet.AuthenticationTokenLoader.instance().reset_cache()


def _is_loopback(address: str) -> bool:
    if "://" in address:  # Ray Client (ray://) takes no node address
        return False
    host = address.rsplit(":", 1)[0]
    return host == "localhost" or host.startswith("127.")


class RayEngine:
    def __init__(self, address: str | None, threads: int, gpus: float) -> None:
        ray = require_ray()
        self._ray = ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the cluster
        self._owns_session = not ray.is_initialized()
        self._restore_env: Callable[[], None] = lambda: None
        if self._owns_session:
            common: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
            try:
                if address is None:  # a private instance ("local": never a cluster found running here)
                    self._restore_env = _private_token_env()
                    ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **common)
                elif _is_loopback(address):  # a cluster on this machine: no outside address is needed
                    ray.init(address=address, _node_ip_address="127.0.0.1", **common)
                else:
                    ray.init(address=address, **common)
            except (ConnectionError, ValueError, ray.exceptions.AuthenticationError) as error:
                self._restore_env()
                where = f"at {address}" if address else "on this machine"
                detail = one_line(error)
                if isinstance(error, ray.exceptions.AuthenticationError):
                    detail = f"it refused this machine's token, or there is none here ({TOKEN_HINT})"
                elif address is not None:  # nothing says why: a missing or wrong token is one reason
                    detail += f" ({TOKEN_HINT})"
                raise UserInputError(f"cannot start or reach Ray {where}: {detail}") from None
        self.threads = threads
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        self.workers = max(1, int(cpus // threads))
        # Enough queued that no CPU waits, few enough that a large batch is not all submitted at once.
        self._limit = 2 * self.workers
        self._remote = ray.remote(stylize_item).options(num_cpus=threads, num_gpus=gpus, max_retries=0)
        self._pending: dict[Any, Task] = {}

    def capacity(self) -> int:
        return max(0, self._limit - len(self._pending))

    def in_flight(self) -> int:
        return len(self._pending)

    def submit(self, task: Task) -> None:
        self._pending[self._remote.remote(task, self.threads)] = task

    def wait(self, timeout: float) -> list[Event]:
        if not self._pending:
            return []
        refs = list(self._pending)
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        events: list[Event] = []
        for ref in ready:
            task = self._pending.pop(ref)
            try:
                events.append(self._ray.get(ref))
            except self._ray.exceptions.RayError as error:  # the worker or its node was lost
                events.append(Attempt.died(task, type(error).__name__, one_line(error).split(". ")[0]))
        return events

    def close(self) -> None:
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending.clear()
        if self._owns_session:
            self._ray.shutdown()
            self._restore_env()
