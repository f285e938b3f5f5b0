"""The routes that queue videos and batches: ``POST /api/videos``, ``POST /api/batches``, and their
results, ``GET /api/jobs/{id}/result.mp4`` (.webm, .mkv) and ``result.zip``. A shell over
:mod:`brushwork.server.video_intake` and :mod:`brushwork.server.batch_intake`, which check and store
the uploads; the jobs run through the same queue, events and cancel as a still."""

# No ``from __future__ import annotations``: the form's bounds come from the server's configuration,
# which FastAPI must see as values when it reads the signatures.
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException

from brushwork.server import files as names
from brushwork.server.batch_intake import BATCH_FIELDS, BatchChoice, receive_batch
from brushwork.server.contract import (
    answers,
    any_of,
    at_most_together,
    between,
    form_rules,
    job_links,
    unless,
    upload_limit,
)
from brushwork.server.files import new_job_id
from brushwork.server.gallery import GALLERY
from brushwork.server.intake import MAX_SEED, CommonForm, common_form, make_settings, refuse_unknown_fields
from brushwork.server.schemas import JobView
from brushwork.server.store import BATCH, QUEUED, VIDEO
from brushwork.server.video_intake import CONTAINERS, VIDEO_FIELDS, VideoChoice, receive_video

if TYPE_CHECKING:
    from brushwork.server.app import Server
    from brushwork.server.config import ServerConfig

if TYPE_CHECKING:
    StyleId = str
else:
    StyleId = Literal[tuple(GALLERY)]  # the bundled paintings' ids
MAX_SECONDS = 24 * 3600.0


REGIONS = ("subject", "background", "faces")  # the mask modes that paint part of a picture
MAX_STYLES = 8  # paintings a video or batch job takes
LISTS = frozenset(("style", "style_id", "photos"))  # the form fields that may be given more than once
STRING = {"type": "string"}
BINARY = {"schema": {"type": "string", "format": "binary"}}
CREATED = {
    "description": "the job, queued",
    "headers": {"Location": {"description": "the job's URL", "schema": STRING}},
    "links": job_links("$response.body#/id"),
}


def _media_rules(config: "ServerConfig", **fields: dict[str, Any]) -> dict[str, Any]:
    """The rules of the video and batch forms: one to eight paintings (uploaded or bundled); quality
    only with the optimizer (these forms default to the fast engine); inverting needs a region."""
    return form_rules(
        any_of("style", "style_id"),
        at_most_together("style", "style_id", MAX_STYLES),
        unless(
            {"required": ["method"], "properties": {"method": {"const": "optimize"}}},
            {"properties": {"quality": {"const": "normal"}}},
        ),
        unless(
            {"properties": {"invert_mask": {"const": False}}},  # absent or false
            {
                "required": ["mask_mode"],
                "properties": {"mask_mode": {"enum": ["subject", "background", "faces"]}},
            },
        ),
        style={"minItems": 1, "maxItems": MAX_STYLES},
        style_id={"minItems": 1, "maxItems": MAX_STYLES},
        size=between(16, config.max_size),
        seed=between(0, MAX_SEED),
        **fields,
    )


def add_media_routes(app: FastAPI, server: "Server") -> None:
    config = server.config

    async def known_video_fields(request: Request) -> None:
        await refuse_unknown_fields(request, VIDEO_FIELDS, LISTS)

    async def known_batch_fields(request: Request) -> None:
        await refuse_unknown_fields(request, BATCH_FIELDS, LISTS)

    @app.post(
        "/api/videos",
        operation_id="create_video",
        status_code=201,
        response_model=JobView,
        responses=answers(400, 413, 422, 429, 503, s201=CREATED),
        dependencies=[Depends(known_video_fields)],
        openapi_extra=_media_rules(config, video=upload_limit(config.max_video_bytes)),
    )
    def create_video(
        request: Request,
        video: Annotated[UploadFile, File(description="the clip (mp4, mov, mkv, webm, ...)")],
        common: Annotated[CommonForm, Depends(common_form)],
        style: Annotated[list[UploadFile], File(description="one or more paintings")] = [],  # noqa: B006
        style_id: Annotated[list[StyleId], Form(description="bundled paintings (see /api/styles)")] = [],  # noqa: B006
        size: Annotated[
            int,
            Form(ge=16, le=config.max_size, description="long side of the painted frames (never enlarged)"),
        ] = min(512, config.max_size),
        start: Annotated[float, Form(ge=0, le=MAX_SECONDS, description="paint from this second")] = 0.0,
        duration: Annotated[
            float, Form(ge=0, le=MAX_SECONDS, description="seconds to paint; 0: to the end of the clip")
        ] = 0.0,
        temporal_blend: Annotated[
            float, Form(ge=0, le=0.95, description="share of the previous frame kept where the flow is sure")
        ] = 0.75,
        container: Annotated[Literal["mp4", "webm", "mkv"], Form(description="the result's format")] = "mp4",
    ) -> JSONResponse:
        """Queue a video: every frame painted, steady from frame to frame, with the clip's timing and
        sound. Progress counts frames; the preview is the latest painted frame; the result is
        ``result.<container>``. A job cut short by a restart continues from its finished frames."""
        _check_styles(style, style_id)
        chosen = common.chosen()
        make_settings(chosen)  # 422 now for settings that do not go together
        choice = VideoChoice(size, start, duration, temporal_blend, container)
        return _queue(
            server,
            request,
            VIDEO,
            chosen,
            _style_label(style_id),
            lambda folder: receive_video(server, folder, video, style, style_id, choice),
        )

    @app.post(
        "/api/batches",
        operation_id="create_batch",
        status_code=201,
        response_model=JobView,
        responses=answers(400, 413, 422, 429, s201=CREATED),
        dependencies=[Depends(known_batch_fields)],
        openapi_extra=_media_rules(
            config,
            photos={
                "minItems": 1,
                "description": f"(a zip, or photos each at most {config.max_upload_bytes} bytes; at most "
                f"{config.max_batch_items} photos and {config.max_batch_bytes} bytes together, unpacked: "
                "413 beyond)",
                **upload_limit(config.max_batch_bytes),
            },
        ),
    )
    def create_batch(
        request: Request,
        photos: Annotated[list[UploadFile], File(description="a zip of photos, or several photos")],
        common: Annotated[CommonForm, Depends(common_form)],
        style: Annotated[list[UploadFile], File(description="one or more paintings")] = [],  # noqa: B006
        style_id: Annotated[list[StyleId], Form(description="bundled paintings (see /api/styles)")] = [],  # noqa: B006
        size: Annotated[int, Form(ge=16, le=config.max_size, description="long side of each painting")] = min(
            512, config.max_size
        ),
        pair: Annotated[
            Literal["all", "random"], Form(description="every photo with every style, or one drawn by seed")
        ] = "all",
    ) -> JSONResponse:
        """Queue a batch: every photo (and style) painted; progress per item; ``result.zip`` holds one
        painting per photo and style, and the ledger. Items that fail are listed in the job."""
        _check_styles(style, style_id)
        chosen = {**common.chosen(), "size": size}
        make_settings(chosen)  # 422 now for settings that do not go together
        choice = BatchChoice(pair)
        return _queue(
            server,
            request,
            BATCH,
            chosen,
            _style_label(style_id),
            lambda folder: receive_batch(server, folder, photos, style, style_id, choice),
        )

    for extension, media_type in CONTAINERS.items():
        _add_video_result(app, server, extension, media_type)

    @app.get(
        "/api/jobs/{job_id}/result.zip",
        operation_id="batch_result",
        response_class=FileResponse,
        responses=answers(
            404, 409, s200={"content": {"application/zip": BINARY}, "description": "the batch"}
        ),
    )
    def batch_result(job_id: str) -> FileResponse:
        """A finished batch: one painting per photo and style, and ``_brushwork/ledger.jsonl``."""
        view = server.view(job_id)
        return _result_file(
            server, view, BATCH, names.RESULT_ZIP, "application/zip", f"brushwork-{job_id[:8]}.zip"
        )


def _add_video_result(app: FastAPI, server: "Server", extension: str, media_type: str) -> None:
    @app.get(
        f"/api/jobs/{{job_id}}/result.{extension}",
        operation_id=f"video_result_{extension}",
        response_class=FileResponse,
        responses=answers(404, 409, s200={"content": {media_type: BINARY}, "description": "the video"}),
        name=f"video_result_{extension}",
        description=f"A finished video job's clip, made as .{extension}: every frame, and the sound.",
    )
    def video_result(job_id: str) -> FileResponse:
        view = server.view(job_id)
        if view.kind == VIDEO and view.options.get("container") != extension:
            raise HTTPException(409, f"this job's video is result.{view.options.get('container')}")
        name = names.result_video(extension)
        return _result_file(server, view, VIDEO, name, media_type, f"brushwork-{job_id[:8]}.{extension}")


def _result_file(
    server: "Server", view: JobView, kind: str, name: str, media_type: str, download: str
) -> FileResponse:
    if view.kind != kind:
        raise HTTPException(409, f"this job is a{'n' if view.kind == 'image' else ''} {view.kind} job")
    if view.state != "done":
        raise HTTPException(409, f"the job is {view.state}, there is no result")
    path = server.files.path(view.id, name)
    if not path.is_file():
        raise HTTPException(404, "no such job")  # the job is done, so it was deleted meanwhile
    return FileResponse(path, media_type=media_type, filename=download, headers={"Cache-Control": "private"})


def _check_styles(style: list[UploadFile], style_id: list[str]) -> None:
    if not style and not style_id:
        raise HTTPException(422, "give one or more paintings (style) or bundled ones (style_id)")
    if len(style) + len(style_id) > MAX_STYLES:
        raise HTTPException(422, f"at most {MAX_STYLES} paintings a job")


def _style_label(style_id: list[str]) -> str:
    return style_id[0] if style_id else "upload"


def make_room(server: "Server", needed: int) -> None:
    """Room on disk for ``needed`` more bytes (finished jobs go, oldest first), else 413 or 429."""
    quota = server.config.max_disk_bytes
    if needed > quota:
        raise HTTPException(413, f"the upload is larger than this server's disk quota ({quota} bytes)")
    if not server.runner.housekeeper.make_room(needed):
        raise HTTPException(
            429, "the server's disk quota is taken by queued and running jobs; try again later"
        )


def _queue(
    server: "Server",
    request: Request,
    kind: str,
    settings: dict[str, Any],
    style: str,
    receive: Callable[[Path], dict[str, Any]],
) -> JSONResponse:
    """Make room on disk, receive the uploads into a staging folder, publish it and queue the job."""
    config = server.config
    if server.store.counts()[QUEUED] >= config.max_queued:
        raise HTTPException(429, f"the queue is full ({config.max_queued} jobs waiting); try again later")
    make_room(server, int(request.headers.get("content-length") or 0))
    job_id = new_job_id()
    folder = server.files.staging(job_id)
    try:
        options = receive(folder)
        server.files.publish(job_id)
    finally:
        server.files.discard_staging(job_id)
    job = server.store.add(job_id, style, settings, config.max_queued, kind=kind, options=options)
    if job is None:
        server.files.remove(job_id)
        raise HTTPException(429, f"the queue is full ({config.max_queued} jobs waiting); try again later")
    server.runner.wake()
    view = server.view(job_id)
    return JSONResponse(view.model_dump(), status_code=201, headers={"Location": view.links["job"]})
