"""The local engine: a pool of worker processes on this machine, one item at a time each.

Each worker loads the network's weights once and runs a fixed number of torch threads, so that
``jobs × threads`` does not exceed the cores. The driver knows which item each worker holds, so a
worker that dies (killed, out of memory) is reported as a ``died`` attempt for exactly that item and
replaced; the driver decides whether to try the item again.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from brushwork.batch.worker import Attempt, Event, Started, Task, run_task, warm_up

_STOP_SECONDS = 5.0
# Imported once by the fork server, so that each worker (and each replacement of a dead one) starts as a
# fork with torch and brushwork loaded instead of a fresh interpreter. torch._dynamo is what the first
# optimizer would import (seconds); a module missing here is simply skipped by the fork server.
_PRELOAD = ["brushwork.api", "brushwork.batch.worker", "torch.optim", "torch._dynamo"]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def plan_pool(jobs: int | None, threads: int | None, *, cores: int, gpu: bool) -> tuple[int, int]:
    """(workers, torch threads per worker). By default a worker per four cores (one on a GPU, which the
    workers would share), and the cores shared out evenly so the pool never oversubscribes them."""
    if jobs is None:
        jobs = 1 if gpu else max(1, cores // 4)
    if threads is None:
        threads = max(1, cores // jobs)
    return jobs, threads


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: Task | None = None


class LocalEngine:
    def __init__(self, jobs: int, threads: int, warm: tuple[str, str, str, str | None]) -> None:
        """``warm``: (method, precision, device, weights) of the networks to load in each worker."""
        self.workers = jobs
        self.threads = threads
        self._warm = warm
        # Not plain fork: the driver may hold threads (Ray, a web server, torch's pools) that a fork copies.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._host = socket.gethostname()
        self._workers = [self._start() for _ in range(jobs)]

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child, self.threads, self._warm),
            name="brushwork-batch-worker",
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def capacity(self) -> int:
        return sum(worker.task is None for worker in self._workers)

    def in_flight(self) -> int:
        return len(self._workers) - self.capacity()

    def submit(self, task: Task) -> None:
        index, worker = next((i, w) for i, w in enumerate(self._workers) if w.task is None)
        if not worker.process.is_alive():  # died while idle
            worker.conn.close()
            worker = self._workers[index] = self._start()
        worker.task = task
        with contextlib.suppress(OSError):  # if it died just now, wait() reports the item as died
            worker.conn.send(task)

    def wait(self, timeout: float) -> list[Event]:
        busy = [worker for worker in self._workers if worker.task is not None]
        if not busy:
            time.sleep(min(timeout, 0.05))
            return []
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
        events: list[Event] = []
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                events.extend(self._collect(worker))
        return events

    def _collect(self, worker: _Worker) -> list[Event]:
        events: list[Event] = []
        try:
            while worker.task is not None and worker.conn.poll():
                message = worker.conn.recv()
                if isinstance(message, Attempt):
                    worker.task = None
                events.append(message)
        except (EOFError, OSError):
            pass
        task = worker.task
        if task is not None and not worker.process.is_alive():
            worker.process.join()
            code = worker.process.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            message = f"worker process {worker.process.pid} died ({how})"
            events.append(Attempt.died(task, "WorkerDied", message, host=self._host, pid=worker.process.pid))
            worker.conn.close()
            self._workers[self._workers.index(worker)] = self._start()
        return events

    def close(self) -> None:
        for worker in self._workers:
            if worker.task is None:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            else:
                worker.process.terminate()
        deadline = time.monotonic() + _STOP_SECONDS
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


def _worker_main(conn: Connection, threads: int, warm: tuple[str, str, str, str | None]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _exit_with_parent()
    import torch

    torch.set_num_threads(threads)
    warm_up(*warm)
    pid, host = os.getpid(), socket.gethostname()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(Started(item=task.item, attempt=task.attempt, host=host, pid=pid))
        conn.send(run_task(task))


def _exit_with_parent() -> None:
    """A driver killed outright cannot stop its workers: each stops itself once it is orphaned (an
    output being written at that moment is either complete or absent, as writes are atomic)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="brushwork-parent-watch", daemon=True).start()
