"""The JSON the API sends, as pydantic models (they make the OpenAPI schema)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, Field

from brushwork.server.runner import Live
from brushwork.server.store import DONE, Job

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
JobKind = Literal["image", "video", "batch"]
ItemStatus = Literal["queued", "running", "done", "failed"]


class ErrorBody(BaseModel):
    error: str = Field(description="what was wrong, in one line")


class ProgressView(BaseModel):
    done: int = Field(description="loss evaluations (steps) done")
    total: int = Field(description="steps planned over all scales")
    scale: int | None = Field(default=None, description="current scale of the pyramid, from 1")
    scales: int | None = Field(default=None)
    loss: float | None = Field(default=None, description="total loss at the last step")
    elapsed: float | None = Field(default=None, description="seconds since the run started")
    eta: float | None = Field(default=None, description="estimated seconds left")
    preview: int = Field(default=0, description="previews written so far; 0: none yet")
    unit: Literal["step", "frame", "item"] = Field(
        default="step", description="what done and total count: steps (a still), frames or items"
    )


class ItemView(BaseModel):
    name: str = Field(description="the painting's path in result.zip")
    status: ItemStatus
    message: str | None = Field(default=None, description="why it failed")


class ResultView(BaseModel):
    width: int
    height: int
    seconds: float


class JobView(BaseModel):
    id: str
    state: JobState
    created: float = Field(description="Unix time")
    started: float | None
    finished: float | None
    style: str = Field(description="the gallery style's id, or 'upload'")
    settings: dict[str, Any] = Field(description="the transfer settings used (brushwork.Settings fields)")
    attempts: int = Field(description="runs started; more than 1 after the server was killed mid-run")
    cancel_requested: bool
    error: str | None = Field(description="why the job failed")
    note: str | None = Field(description="e.g. that the job was queued again after a server restart")
    queue_position: int | None = Field(description="queued jobs ahead of this one")
    progress: ProgressView
    result: ResultView | None
    links: dict[str, str] = Field(description="URLs of this job's events, images and result")
    kind: JobKind = Field(default="image", description="a still, a video or a batch of photos")
    options: dict[str, Any] = Field(
        default_factory=dict, description="a video's window, container and blend; a batch's pairing"
    )
    items: list[ItemView] = Field(
        default_factory=list, description="a batch's photos (and styles) with how each went"
    )
    outcome: dict[str, Any] = Field(
        default_factory=dict, description="a finished video's frames and notes; a batch's counts and failures"
    )

    @classmethod
    def of(cls, job: Job, live: Live | None, queue_position: int | None = None) -> JobView:
        base = f"/api/jobs/{job.id}"
        links = {
            "job": base,
            "events": f"{base}/events",
            "cancel": f"{base}/cancel",
            "content": f"{base}/content.png",
            "style": f"{base}/style.png",
        }
        unit = {"video": "frame", "batch": "item"}.get(job.kind, "step")
        items: list[ItemView] = []
        if live is not None:
            fields = {k: v for k, v in dataclasses.asdict(live).items() if k != "items"}
            progress = ProgressView(**fields)
            items = [ItemView(**dataclasses.asdict(item)) for item in live.items]
            if live.preview:
                links["preview"] = f"{base}/preview.png?v={live.preview}"
        else:
            progress = ProgressView(done=job.done, total=job.total, unit=unit)  # type: ignore[arg-type]
            items = [ItemView(**item) for item in job.outcome.get("item_states", [])]
        result = None
        if job.state == DONE and job.width is not None and job.height is not None:
            result = ResultView(width=job.width, height=job.height, seconds=job.seconds or 0.0)
        if job.state == DONE:
            target = {"video": f"result.{job.options.get('container')}", "batch": "result.zip"}
            name = target.get(job.kind, "result.png")
            links["result"] = f"{base}/{name}"
            links["download"] = f"{base}/{name}?download=1"
            links["thumb"] = f"{base}/thumb.png"
        return cls(
            id=job.id,
            state=job.state,  # type: ignore[arg-type]
            created=job.created,
            started=job.started,
            finished=job.finished,
            style=job.style,
            settings=job.settings,
            attempts=job.attempts,
            cancel_requested=job.cancel_requested,
            error=job.error,
            note=job.note,
            queue_position=queue_position,
            progress=progress,
            result=result,
            links=links,
            kind=job.kind,  # type: ignore[arg-type]
            options=job.options,
            items=items,
            outcome={k: v for k, v in job.outcome.items() if k != "item_states"},
        )


class JobList(BaseModel):
    jobs: list[JobView]
    total: int
    counts: dict[str, int] = Field(description="jobs in each state")


class Style(BaseModel):
    """A bundled painting (its id is what ``style_id`` takes, so it is named Style in the schema)."""

    id: str
    title: str
    artist: str
    year: str
    url: str


class Limits(BaseModel):
    max_upload_bytes: int
    max_pixels: int
    max_queued: int
    max_size: int
    max_steps: int
    max_video_bytes: int = Field(description="largest uploaded clip")
    max_clip_seconds: float = Field(description="longest part of a clip a video job paints")
    max_clip_pixels: int = Field(description="largest clip frame, width x height")
    max_batch_items: int = Field(description="photos in a batch")
    max_batch_bytes: int = Field(description="a batch's photos together, unpacked")
    max_job_seconds: float = Field(description="a job running longer fails")


class ServerInfo(BaseModel):
    version: str
    device: str
    workers: int
    token_required: bool
    counts: dict[str, int]
    limits: Limits
    qualities: dict[str, dict[str, int]] = Field(description="steps of each quality preset")
