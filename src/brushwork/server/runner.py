"""Worker threads that take queued jobs from the store and run :func:`brushwork.stylize` on them
(videos and batches: the functions the app hands in as ``kinds``, which call :meth:`Runner.check`).

Progress lives in memory (:class:`Live`, replaced whole on every step) and is read by the API; the
store records only state changes. Cancelling and stopping both work by raising from the progress
callback, which ends ``stylize`` at its next loss evaluation.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from brushwork import imageio
from brushwork.api import Progress, stylize
from brushwork.config import Settings
from brushwork.engines.optimize.engine import pyramid_sizes
from brushwork.errors import ImageReadError, UserInputError
from brushwork.finishing.after import apply_after
from brushwork.server import files as names
from brushwork.server.config import ServerConfig
from brushwork.server.files import JobFiles
from brushwork.server.finish import NEUTRAL, after_of
from brushwork.server.housekeeping import Housekeeper
from brushwork.server.store import CANCELLED, DONE, FAILED, Job, JobStore

log = logging.getLogger(__name__)

THUMB_SIDE = 256


class JobCancelled(Exception):
    """Raised in the progress callback when a client cancelled the job."""


class ServerStopping(Exception):
    """Raised in the progress callback when the server shuts down; the job goes back to the queue."""


class TimeLimit(Exception):
    """Raised in the progress callback when the job has run longer than the server allows."""


@dataclass(frozen=True)
class Finished:
    """How a video or batch job ended (the runner records it)."""

    state: str
    done: int
    total: int
    size: tuple[int, int] | None = None
    error: str | None = None
    outcome: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Live:
    """A running job's progress."""

    done: int  # loss evaluations so far
    total: int
    scale: int
    scales: int
    loss: float | None  # total loss at the last step
    elapsed: float  # seconds since the run started
    eta: float | None  # seconds left, estimated from the pixels still to process
    preview: int  # previews written so far: a version number for the preview URL
    unit: str = "step"  # what done and total count: steps (a still), frames (a video) or items (a batch)
    items: tuple[ItemState, ...] = ()  # a batch's photos, each with how it went so far


@dataclass(frozen=True)
class ItemState:
    name: str  # the painting's path in result.zip
    status: str  # queued, running, done or failed
    message: str | None = None  # why it failed


def work_plan(content_size: tuple[int, int], settings: Settings) -> list[tuple[int, int]]:
    """(steps, pixels per step) for each scale, coarse to fine: the cost of a step grows with its pixels."""
    final = imageio.fit_long_side(content_size, settings.size)
    if settings.method == "fast":  # one pass at the final size
        return [(1, final[0] * final[1])]
    sizes = pyramid_sizes(final, settings.first_scale, settings.pyramid)
    steps = settings.steps_per_scale(sizes)
    return [(count, width * height) for count, (width, height) in zip(steps, sizes, strict=True)]


def estimate_left(plan: list[tuple[int, int]], scale: int, step: int, elapsed: float) -> float | None:
    """Seconds left, assuming the time so far was spent in proportion to the pixels processed."""
    done = sum(count * pixels for count, pixels in plan[: scale - 1]) + step * plan[scale - 1][1]
    total = sum(count * pixels for count, pixels in plan)
    if done <= 0:
        return None
    return max(0.0, elapsed * (total - done) / done)


def thumbnail_size(size: tuple[int, int]) -> tuple[int, int]:
    """At most THUMB_SIDE on the long side, never enlarged."""
    return imageio.fit_long_side(size, min(THUMB_SIDE, max(size)))


def settings_of(job: Job) -> Settings:
    return Settings(**job.settings)


def paint_settings(settings: Settings, mask_path: str) -> Settings:
    """What a job is painted with: its uploaded mask (stored as ``files.MASK``) at ``mask_path``, and
    no after-adjustments, which the result endpoint applies on request (the job keeps the painting
    as it came, so finishing it differently needs no new transfer)."""
    mask = mask_path if settings.mask == names.MASK else settings.mask
    return settings.replace(mask=mask, **NEUTRAL)


class Runner:
    def __init__(
        self,
        store: JobStore,
        files: JobFiles,
        config: ServerConfig,
        device: torch.device,
        kinds: Mapping[str, RunKind] | None = None,
    ) -> None:
        """``kinds``: how to run jobs other than stills (video, batch), by kind."""
        self.kinds = dict(kinds or {})
        self.store = store
        self.files = files
        self.config = config
        self.device = device
        self._live: dict[str, Live] = {}
        self._started: dict[str, float] = {}  # when each running job started (monotonic seconds)
        self.housekeeper = Housekeeper(store, files, config)
        self._cancelled: set[str] = set()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        for index in range(self.config.workers):
            thread = threading.Thread(target=self._loop, name=f"brushwork-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask running jobs to stop at their next step (they go back to the queue) and wait for them."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def wake(self) -> None:
        """A job was queued."""
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        self._cancelled.add(job_id)

    def live(self, job_id: str) -> Live | None:
        return self._live.get(job_id)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.housekeeper.tidy()
                job = self.store.claim()
            except Exception:
                log.exception("cannot take a job from the queue")
                self._stopping.wait(2.0)
                continue
            if job is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._started[job.id] = time.monotonic()
                if job.kind in self.kinds:
                    self._settle(job, self.kinds[job.kind])
                else:
                    self._run(job)
                self.housekeeper.tidy(force=True)  # the job's files may have passed the quota
            except Exception:  # recording the outcome failed (disk full?); the job stays "running"
                log.exception("job %s: cannot record its outcome", job.id)
                self._stopping.wait(2.0)
            finally:
                self._started.pop(job.id, None)

    def publish(self, job_id: str, live: Live) -> None:
        self._live[job_id] = live

    def _settle(self, job: Job, run: RunKind) -> None:
        """Run a video or batch job and record how it ended."""
        try:
            finished = run(self, job)
            self.store.finish(
                job.id,
                finished.state,
                error=finished.error,
                done=finished.done,
                total=finished.total,
                seconds=time.monotonic() - self._started[job.id],
                size=finished.size,
                outcome=finished.outcome,
            )
        except ServerStopping:
            self.store.release(job.id)
        except Exception as error:
            state, message = _ending(error, self.config)
            done, total = self._done(job.id), self._total(job.id)
            self.store.finish(job.id, state, error=message, done=done, total=total)
        finally:
            self._live.pop(job.id, None)
            self._cancelled.discard(job.id)

    def _total(self, job_id: str) -> int:
        live = self._live.get(job_id)
        return live.total if live is not None else 0

    def _run(self, job: Job) -> None:
        total = 0
        done = 0
        mask_path = str(self.files.path(job.id, names.MASK))
        try:
            settings = settings_of(job)
            content = self._read(job, names.CONTENT, "the content image")
            style = self._read(job, names.STYLE, "the style image")
            plan = work_plan(content.size, settings)
            total = sum(count for count, _ in plan)
            self._live[job.id] = Live(0, total, 1, len(plan), None, 0.0, None, 0)
            callback = _Reporter(self, job.id, plan)
            painting = paint_settings(settings, mask_path)
            result = stylize(content, style, settings=painting, device=self.device, callback=callback)
            done = callback.done
            # the record names the uploaded mask as the job does, not by the server's path
            result = dataclasses.replace(result, settings=result.settings.replace(mask=settings.mask))
            # the page shows the result: an 8-bit sRGB PNG, whatever the upload's depth and colour space
            result.save(self.files.path(job.id, names.RESULT), bits=8, output_profile="srgb")
            thumb = imageio.resize(result.image, thumbnail_size(result.size))
            thumb = apply_after(after_of(job.settings), thumb)  # the history shows the job as asked
            imageio.write_image(self.files.path(job.id, names.RESULT_THUMB), thumb)
            self.store.finish(
                job.id, DONE, done=done, total=total, seconds=result.timings["total"], size=result.size
            )
            self.files.path(job.id, names.PREVIEW).unlink(missing_ok=True)
        except JobCancelled:
            self.store.finish(job.id, CANCELLED, done=self._done(job.id), total=total)
        except ServerStopping:
            self.store.release(job.id)
        except TimeLimit:
            message = f"stopped after the server's time limit of {self.config.max_job_seconds:g} s"
            self.store.finish(job.id, FAILED, error=message, done=self._done(job.id), total=total)
        except UserInputError as error:
            message = str(error).replace(repr(mask_path), "the mask image").replace(mask_path, "the mask")
            self.store.finish(job.id, FAILED, error=message, done=self._done(job.id), total=total)
        except Exception as error:
            log.exception("job %s failed", job.id)
            message = f"internal error: {type(error).__name__}: {error}"
            self.store.finish(job.id, FAILED, error=message, done=self._done(job.id), total=total)
        finally:
            self._live.pop(job.id, None)
            self._cancelled.discard(job.id)

    def _done(self, job_id: str) -> int:
        live = self._live.get(job_id)
        return live.done if live is not None else 0

    def _read(self, job: Job, name: str, what: str) -> imageio.Picture:
        path = self.files.path(job.id, name)
        try:
            return imageio.read_image(path, max_pixels=self.config.max_pixels)
        except ImageReadError as error:
            raise ImageReadError(str(error).replace(repr(str(path)), what)) from None

    def check(self, job_id: str) -> None:
        """Raise to end a job: the server is stopping, the job was cancelled or is out of time."""
        if self._stopping.is_set():
            raise ServerStopping
        if job_id in self._cancelled:
            raise JobCancelled
        started = self._started.get(job_id)
        if started is not None and time.monotonic() - started > self.config.max_job_seconds:
            raise TimeLimit


def _ending(error: Exception, config: ServerConfig) -> tuple[str, str | None]:
    """The state and message a job ends with when ``error`` stopped it."""
    if isinstance(error, JobCancelled):
        return CANCELLED, None
    if isinstance(error, TimeLimit):
        return FAILED, f"stopped after the server's time limit of {config.max_job_seconds:g} s"
    if isinstance(error, UserInputError):
        return FAILED, str(error)
    log.exception("a job failed")
    return FAILED, f"internal error: {type(error).__name__}: {error}"


class _Reporter:
    """The progress callback of one job: publishes :class:`Live`, writes previews, stops on request."""

    def __init__(self, runner: Runner, job_id: str, plan: list[tuple[int, int]]) -> None:
        self.runner = runner
        self.job_id = job_id
        self.plan = plan
        self.done = 0
        self.previews = 0
        self.preview_step = 0
        self.preview_time = 0.0

    def __call__(self, p: Progress) -> None:
        self.runner.check(self.job_id)
        if p.tile is not None:  # mid-evaluation of a tiled scale: only the cancel check above
            return
        self.done = p.done
        config = self.runner.config
        now = time.monotonic()
        first = self.previews == 0
        due = p.done - self.preview_step >= config.preview_every
        last = p.done >= p.total  # the result follows at once (a fast job has only this step)
        if not last and (first or (due and now - self.preview_time >= config.preview_interval)):
            imageio.write_image(self.runner.files.path(self.job_id, names.PREVIEW), p.image())
            self.previews += 1
            self.preview_step = p.done
            self.preview_time = now
        self.runner._live[self.job_id] = Live(
            done=p.done,
            total=p.total,
            scale=p.scale,
            scales=p.scales,
            loss=p.losses.get("total"),  # the fast engine has no loss
            elapsed=p.elapsed,
            eta=estimate_left(self.plan, p.scale, p.step, p.elapsed),
            preview=self.previews,
        )


RunKind = Callable[[Runner, Job], Finished]  # runs a video or batch job, calling runner.check() often
