"""The batch driver: plan the items, skip those already done, hand the rest to an engine, record every
attempt in the ledger, and retry items whose worker was lost."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from brushwork.batch import items as plan
from brushwork.batch.items import Item, Pairing
from brushwork.batch.keys import with_keys
from brushwork.batch.ledger import FAILED_NAME, LEDGER_NAME, History, Ledger, read_history, write_failed
from brushwork.batch.worker import Attempt, Event, Started, Task, read_key
from brushwork.codecs.formats import OUTPUT_PROFILES, by_extension
from brushwork.config import Settings
from brushwork.errors import UserInputError
from brushwork.outputs import check_output_dir, name_max
from brushwork.preflight import check_style_image, check_weights_file

EngineName = Literal["local", "ray"]
ENGINES: tuple[EngineName, ...] = ("local", "ray")
_TEMP_FILE = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")  # left by a worker killed mid-write (imageio)


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs (what each item does is in :class:`brushwork.Settings`)."""

    pair: Pairing = "all"  # every content × every style, or one style per content drawn by ``seed``
    seed: int | None = None  # of the random pairing (default: the settings' seed, else 0)
    engine: EngineName = "local"
    jobs: int | None = None  # local: worker processes (default: one per four cores, one on a GPU)
    threads: int | None = None  # torch threads per worker; Ray: CPUs per task (default 1)
    address: str | None = None  # Ray: HOST:PORT of the cluster (default: a private local instance)
    gpus: float | None = None  # Ray: GPUs per task (default: 1 with device cuda, else 0)
    device: str = "cpu"  # resolved by each worker: "auto" picks that worker's best device
    weights: str | None = None
    output_format: str = "png"  # a key of brushwork.batch.items.OUTPUT_FORMATS
    bits: int | None = None  # None: each photo's precision where the format holds it
    output_profile: str = "source"  # "source": each photo's colour space; "srgb"
    retry_failed: bool = False  # run items again whose last attempt failed
    max_attempts: int = 3  # attempts at an item whose worker dies (or which hits an internal error)


@dataclass(frozen=True)
class Counts:
    total: int  # items in the batch
    done: int
    failed: int
    skipped: int  # already done by an earlier run
    running: int
    processed: int  # items finished (done or failed) by this run
    elapsed: float  # seconds since work started

    @property
    def per_minute(self) -> float:
        return 60.0 * self.processed / self.elapsed if self.elapsed > 0 and self.processed else 0.0


@dataclass(frozen=True)
class BatchEvent:
    """Sent to ``on_event``: ``planned`` once, ``started`` when a worker takes an item (local engine),
    ``finished`` after every attempt (``status`` done, failed or retrying)."""

    kind: Literal["planned", "started", "finished"]
    counts: Counts
    item: str | None = None
    status: str | None = None
    pid: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class BatchSummary:
    outdir: Path
    engine: EngineName
    workers: int
    items: int
    done: int
    failed: int
    skipped: int
    ignored: int  # input files that are not images (or are videos without video support)
    retries: int
    processed: int  # items finished (done or failed) by this run; the others were settled before
    seconds: float
    ledger: Path
    failed_csv: Path | None
    failures: list[tuple[str, str]] = field(default_factory=list)  # (item, one-line reason)
    ignored_inputs: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def exit_status(self) -> int:
        return 3 if self.failed else 0

    @property
    def per_minute(self) -> float:
        return 60.0 * self.processed / self.seconds if self.seconds > 0 and self.processed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "outdir": str(self.outdir),
            "engine": self.engine,
            "workers": self.workers,
            "items": self.items,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "retries": self.retries,
            "processed": self.processed,
            "seconds": round(self.seconds, 3),
            "items_per_minute": round(self.per_minute, 2),
            "ledger": str(self.ledger),
            "failed_csv": str(self.failed_csv) if self.failed_csv else None,
            "failures": [{"item": item, "message": message} for item, message in self.failures],
            "ignored_inputs": [{"input": path, "reason": reason} for path, reason in self.ignored_inputs],
        }


class Engine(Protocol):
    workers: int

    def capacity(self) -> int: ...
    def in_flight(self) -> int: ...
    def submit(self, task: Task) -> None: ...
    def wait(self, timeout: float) -> list[Event]: ...
    def close(self) -> None: ...


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    styles: Sequence[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    *,
    settings: Settings | None = None,
    options: BatchOptions | None = None,
    on_event: Callable[[BatchEvent], None] | None = None,
    check: Callable[[], None] | None = None,
) -> BatchSummary:
    """Stylize every item of a batch into ``outdir``; see the module docs and the README's batch section.

    ``check`` is called about twice a second while items run (and ``on_event`` after each event);
    whatever either raises stops the batch: the workers are stopped, finished items stay, the
    exception propagates, and running the same batch again continues from there.

    Raises :class:`UserInputError` for a mistake found before any work (nothing is written then).
    Items that fail are recorded and reported in the summary, never raised. The local engine's workers
    are processes started through multiprocessing, so, as with any such program, a script that calls
    this must do so under ``if __name__ == "__main__":``.
    """
    from brushwork import __version__

    settings = settings or Settings()
    options = options or BatchOptions()
    _check_options(options)
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"cannot write into {str(out)!r}: it is a file, not a directory")
    discovery = plan.discover(inputs, exclude=out, video=plan.video_supported())
    style_paths = plan.style_files(styles)
    suffix = plan.OUTPUT_FORMATS[options.output_format]
    seed = options.seed if options.seed is not None else settings.seed or 0
    items = plan.build_items(
        discovery, style_paths, out, settings=settings, mode=options.pair, seed=seed, image_suffix=suffix
    )
    if not items:
        skipped = f" ({len(discovery.ignored)} other files skipped)" if discovery.ignored else ""
        raise UserInputError(f"no images or videos found in the inputs{skipped}")
    _check_styles(items)
    _check_outputs(items, discovery, out)
    items = with_keys(
        items, version=__version__, bits=options.bits, profile=options.output_profile, weights=options.weights
    )
    state = check_output_dir(out / plan.STATE_DIR, create=True)
    with _locked(state / "lock", out):
        return _drive(items, discovery, out, state, settings, options, on_event, check)


def _check_options(options: BatchOptions) -> None:
    if options.pair not in ("all", "random"):
        raise UserInputError(f"pair must be all or random, got {options.pair!r}")
    if options.engine not in ENGINES:
        raise UserInputError(f"engine must be local or ray, got {options.engine!r}")
    for name in ("jobs", "threads"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise UserInputError(f"{name} must be at least 1, got {value}")
    if options.gpus is not None and options.gpus < 0:
        raise UserInputError(f"gpus must be >= 0, got {options.gpus}")
    if options.max_attempts < 1:
        raise UserInputError(f"max-attempts must be at least 1, got {options.max_attempts}")
    if options.output_format not in plan.OUTPUT_FORMATS:
        raise UserInputError(f"format must be one of {', '.join(plan.OUTPUT_FORMATS)}")
    if options.bits not in (None, 8, 16):
        raise UserInputError(f"bit-depth must be 8 or 16, got {options.bits}")
    deep = [
        name for name, suffix in plan.OUTPUT_FORMATS.items() if getattr(by_extension(suffix), "holds16", 0)
    ]
    if options.bits == 16 and options.output_format not in deep:
        raise UserInputError(f"bit-depth 16 needs --format {', '.join(deep)}")
    if options.output_profile not in OUTPUT_PROFILES:
        raise UserInputError(f"output profile must be one of {', '.join(OUTPUT_PROFILES)}")
    if options.weights is not None:
        check_weights_file(options.weights)
    if options.engine == "ray":
        from brushwork.batch.ray_engine import check_reachable, require_ray

        require_ray()
        if options.address is not None:
            check_reachable(options.address)


def _check_styles(items: Sequence[Item]) -> None:
    """A broken or tiny painting would fail every item that uses it: refuse it before starting."""
    from brushwork.imageio import read_image

    for style in sorted({s.resolve() for item in items for s in item.styles}):
        check_style_image(style)
        read_image(style)


def _check_outputs(items: Sequence[Item], discovery: plan.Discovery, out: Path) -> None:
    """No output may overwrite an input, through a symlink or a hard link either (a manifest's output
    name, or an output folder that is an input folder with colliding names), and each name must fit."""
    given = [item.content for item in items] + [s for item in items for s in item.styles]
    given += [f for item in items for f in plan.setting_files(item.settings)]
    given += [ignored.path for ignored in discovery.ignored]
    paths = {os.path.realpath(p) for p in given}
    files = {(st.st_dev, st.st_ino) for st in map(_stat, given) if st is not None}
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    limit = name_max(existing)
    for item in items:
        name = os.fspath(item.output)
        stat = _stat(item.output)
        if os.path.realpath(name) in paths or (stat is not None and (stat.st_dev, stat.st_ino) in files):
            raise UserInputError(f"cannot write {name!r}: it is also an input and would be overwritten")
        if len(os.fsencode(item.output.name)) > limit:
            raise UserInputError(f"cannot write {name!r}: name too long for the filesystem")


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


@contextlib.contextmanager
def _locked(path: Path, out: Path) -> Iterator[None]:
    """One driver per output folder: the ledger has a single writer. The lock goes with the process,
    so a killed driver never leaves it held."""
    fh: IO[str] = path.open("a")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UserInputError(f"another brushwork batch is writing to {str(out)!r}") from None
        yield
    finally:
        fh.close()


def _drive(
    items: list[Item],
    discovery: plan.Discovery,
    out: Path,
    state: Path,
    settings: Settings,
    options: BatchOptions,
    on_event: Callable[[BatchEvent], None] | None,
    check: Callable[[], None] | None = None,
) -> BatchSummary:
    history = read_history(state / LEDGER_NAME)
    todo, skipped, failed_before = _partition(items, history, options.retry_failed)
    run = _Run(
        len(items),
        len(skipped),
        [(i, f"{history.last_message[i.key]} (in an earlier run)") for i in failed_before],
    )
    # The engine first: a cluster that cannot be reached is refused before the ledger is touched.
    engine: Engine | None = _make_engine(options, settings) if todo else None
    try:
        ledger = Ledger(state / LEDGER_NAME, run=uuid.uuid4().hex[:12])
        try:
            for ignored in discovery.ignored:
                if str(ignored.path) not in history.ignored:
                    ledger.write(input=str(ignored.path), status="ignored", message=ignored.reason)
            _remove_stale_temp_files(todo)
            run.emit(on_event, "planned")
            if engine is not None:
                run.loop(engine, todo, options, ledger, on_event, check)
        finally:
            ledger.close()
    finally:
        if engine is not None:
            engine.close()
    failed_csv = state / FAILED_NAME
    wrote = write_failed(failed_csv, run.failures)
    return BatchSummary(
        outdir=out,
        engine=options.engine,
        workers=engine.workers if engine is not None else 0,
        items=len(items),
        done=run.done,
        failed=len(run.failures),
        skipped=len(skipped),
        ignored=len(discovery.ignored),
        retries=run.retries,
        processed=run.processed,
        seconds=run.elapsed(),
        ledger=state / LEDGER_NAME,
        failed_csv=failed_csv if wrote else None,
        failures=[(item.name, message) for item, message in run.failures],
        ignored_inputs=[(str(i.path), i.reason) for i in discovery.ignored],
    )


def _partition(
    items: Sequence[Item], history: History, retry_failed: bool
) -> tuple[list[Item], list[Item], list[Item]]:
    """(to do, already done, failed before and not to be retried)."""
    todo, skipped, failed_before = [], [], []
    for item in items:
        if item.output.exists() and read_key(item.output) == item.key:
            skipped.append(item)
        elif history.last_status.get(item.key) == "failed" and not retry_failed:
            failed_before.append(item)
        else:
            todo.append(item)
    return todo, skipped, failed_before


def _remove_stale_temp_files(items: Sequence[Item]) -> None:
    for folder in {item.output.parent for item in items}:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.is_file() and _TEMP_FILE.match(entry.name):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _make_engine(options: BatchOptions, settings: Settings) -> Engine:
    gpu = options.device.startswith("cuda")
    if options.engine == "ray":
        from brushwork.batch.ray_engine import RayEngine

        gpus = options.gpus if options.gpus is not None else (1.0 if gpu else 0.0)
        return RayEngine(options.address, options.threads or 1, gpus)
    from brushwork.batch.local import LocalEngine, available_cores, plan_pool

    jobs, threads = plan_pool(options.jobs, options.threads, cores=available_cores(), gpu=gpu)
    warm = (settings.method, settings.precision, options.device, options.weights)
    return LocalEngine(jobs, threads, warm)


class _Run:
    """Counts and the retry rule, shared by both engines."""

    def __init__(self, total: int, skipped: int, failures: list[tuple[Item, str]]) -> None:
        self.total = total
        self.skipped = skipped
        self.failures = failures
        self.done = 0
        self.processed = 0
        self.retries = 0
        self.running = 0
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def counts(self) -> Counts:
        return Counts(
            total=self.total,
            done=self.done,
            failed=len(self.failures),
            skipped=self.skipped,
            running=self.running,
            processed=self.processed,
            elapsed=self.elapsed(),
        )

    def emit(self, on_event: Callable[[BatchEvent], None] | None, kind: Any, **details: Any) -> None:
        if on_event is not None:
            on_event(BatchEvent(kind=kind, counts=self.counts(), **details))

    def loop(
        self,
        engine: Engine,
        todo: list[Item],
        options: BatchOptions,
        ledger: Ledger,
        on_event: Callable[[BatchEvent], None] | None,
        check: Callable[[], None] | None = None,
    ) -> None:
        by_name = {item.name: item for item in todo}
        tasks = {item.name: _task(item, options) for item in todo}
        queue = deque(tasks.values())
        while queue or engine.in_flight():
            while queue and engine.capacity() > 0:
                engine.submit(queue.popleft())
            self.running = engine.in_flight()
            if check is not None:
                check()
            for event in engine.wait(0.5):
                if isinstance(event, Started):
                    self.emit(on_event, "started", item=event.item, pid=event.pid)
                    continue
                item = by_name[event.item]
                status = _judge(event, options.max_attempts)
                ledger.write(**_ledger_entry(event, status, item))
                if status != "retrying":
                    self.processed += 1
                if status == "done":
                    self.done += 1
                elif status == "retrying":
                    self.retries += 1
                    queue.appendleft(dataclasses.replace(tasks[item.name], attempt=event.attempt + 1))
                else:
                    self.failures.append((item, f"{event.error_type}: {event.message}"))
                self.running = engine.in_flight()
                self.emit(on_event, "finished", item=event.item, status=status, message=event.message)


def _judge(attempt: Attempt, max_attempts: int) -> str:
    """done; failed (a user's mistake, which another try cannot mend, or the last attempt); retrying
    (the worker died, or an internal error that another worker or node may not hit)."""
    if attempt.status == "done":
        return "done"
    if attempt.user_error or attempt.attempt >= max_attempts:
        return "failed"
    return "retrying"


def _task(item: Item, options: BatchOptions) -> Task:
    return Task(
        item=item.name,
        key=item.key,
        content=str(item.content.resolve()),
        styles=tuple(str(s.resolve()) for s in item.styles),
        settings=item.settings.to_dict(),
        output=str(item.output.resolve()),
        kind=item.kind,
        bits=options.bits,
        output_profile=options.output_profile,
        device=options.device,
        weights=options.weights,
    )


def _ledger_entry(attempt: Attempt, status: str, item: Item) -> dict[str, Any]:
    return {
        "item": attempt.item,
        "key": attempt.key,
        "status": status,
        "attempt": attempt.attempt,
        "seconds": round(attempt.seconds, 3),
        "error_type": attempt.error_type,
        "message": attempt.message,
        "host": attempt.host,
        "pid": attempt.pid,
        "content": str(item.content),
    }
