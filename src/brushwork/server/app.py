"""The FastAPI app: the page, the JSON API over the job store, and the worker threads' lifecycle.

Errors are JSON ``{"error": "..."}`` with these statuses:

* 400: an upload is not a usable image (not an image, damaged, truncated, empty, more pixels than
  the limit, e.g. a decompression bomb, or a style under 16 pixels on its short side), not a usable
  clip, a zip with unsafe members (names outside its folder, links, encryption), a multipart part
  header over 4 KB (a very long file name), or a Host header that is not this machine's;
* 401: a token is needed and was missing or wrong; 403: a cross-origin browser request;
* 404: no such job (or no such image of it yet); 409: the job's state does not allow it;
* 413: an uploaded file or the whole request is larger than the limit, a clip longer or larger than
  the limits, a batch with more photos or bytes unpacked than the limits, or an upload larger than
  the disk quota;
* 422: a form field is missing, malformed, out of range (the settings' own checks) or unknown;
* 429: the queue is full, too many instant previews (or adjustments) are waiting, too many event
  streams are open, or queued and running jobs fill the disk quota;
* 503: the fast engine (instant previews, ``method=fast``) or the video extra is not installed.

Videos and batches (``POST /api/videos``, ``/api/batches``) are in :mod:`.media_routes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import math
import shutil
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any

import anyio
import torch
from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import Match

from brushwork import __version__, imageio
from brushwork.config import COLOR_SPACES, MAX_SEED, MIN_SIZE, QUALITY_PRESETS, STYLE_SCALE_RANGE, Settings
from brushwork.device import resolve_device
from brushwork.errors import ImageReadError, SettingsError, UserInputError
from brushwork.finishing.after import RANGES, After
from brushwork.outputs import check_output_dir
from brushwork.preflight import MIN_STYLE_SIDE
from brushwork.regions.masks import check_coverage, invert, mask_from_picture
from brushwork.server import files as names
from brushwork.server.batch_jobs import run_batch_job
from brushwork.server.config import ServerConfig
from brushwork.server.contract import (
    answers,
    any_of,
    between,
    exactly_one,
    finish_schema,
    form_rules,
    job_links,
    not_both,
    one_of,
    unless,
)
from brushwork.server.files import JobFiles, is_job_id, new_job_id
from brushwork.server.finish import DENOISE_MAX_PIXELS, FinishBusy, Finisher, after_of, check_work
from brushwork.server.gallery import GALLERY, STATIC_DIR
from brushwork.server.guard import COOKIE, Guard, session_value, token_matches
from brushwork.server.intake import Yes, refuse_unknown_fields, save_upload
from brushwork.server.media_routes import add_media_routes, make_room
from brushwork.server.preview import PREVIEW_SIDE, EngineMissing, PreviewBusy, Previewer, encode_png
from brushwork.server.runner import Runner, thumbnail_size
from brushwork.server.schemas import JobList, JobView, Limits, ServerInfo, Style
from brushwork.server.store import BATCH, IMAGE, QUEUED, RUNNING, VIDEO, JobStore
from brushwork.server.video_jobs import run_video

log = logging.getLogger(__name__)

EVENT_POLL_SECONDS = 0.25
EVENT_KEEPALIVE_SECONDS = 15.0
DECODES_AT_ONCE = 2  # uploads decoded at the same time: a 20-megapixel image takes ~240 MB as floats
MAX_PAGE = 200  # jobs listed at most per request
INITS = ("content", "fast")  # what an optimize job may start from (never a file on the server)
# what mask_mode may name (never a file on the server)
MASK_MODES = ("subject", "background", "faces", "text")
ADJUST_SIDE = 1024  # the largest long side POST /api/adjust takes (it is for previews)
DENOISE_SIDE = math.isqrt(DENOISE_MAX_PIXELS)  # the largest square picture denoise takes
# The fast engine reads the painting at 256 / style_scale px on its short side: at 0.1 a preview
# took 27 s on a busy core (schemathesis found it), at 0.25 (the page's slider's end) a few.
PREVIEW_MIN_STYLE_SCALE = 0.25
# Rules across the fields of a form with a painting and a region (jobs and previews).
STYLE_AND_REGION_RULES = (
    exactly_one("style", "style_id"),
    not_both("mask", "mask_mode"),
    unless({"properties": {"invert_mask": {"const": False}}}, any_of("mask", "mask_mode")),
)

MAX_OFFSET = 2**31 - 1  # the largest offset into the job list (SQLite takes 64-bit integers only)
STRING = {"type": "string"}


def _event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One server-sent event: its name, and JSON data of the given schema."""
    json_data = {**STRING, "contentMediaType": "application/json", "contentSchema": data}
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {"event": {"const": name}, "data": json_data},
    }


# Each event of GET /api/jobs/{id}/events (in OpenAPI 3.1 the stream's schema is one event's).
JOB_EVENT = {
    "oneOf": [
        _event("job", {"$ref": "#/components/schemas/JobView"}),
        _event(
            "end",
            {"type": "object", "properties": {"deleted": {"const": True}}, "additionalProperties": False},
        ),
    ]
}
PNG = {"content": {"image/png": {"schema": {**STRING, "contentMediaType": "image/png"}}}}


class Server:
    """Everything behind the routes: data directory, store, files and workers."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.files = JobFiles(config.data_dir)
        self.decodes = threading.BoundedSemaphore(DECODES_AT_ONCE)
        self.finisher = Finisher(config.max_pixels)
        self._store: JobStore | None = None
        self._runner: Runner | None = None
        self._previewer: Previewer | None = None
        self._lock_file: IO[bytes] | None = None
        self.streams = StreamCount(config.max_event_streams)
        self.device = torch.device("cpu")  # resolved from config.device by open()

    @property
    def store(self) -> JobStore:
        assert self._store is not None, "Server.open() first"
        return self._store

    @property
    def runner(self) -> Runner:
        assert self._runner is not None, "Server.start() first"
        return self._runner

    @property
    def previewer(self) -> Previewer:
        assert self._previewer is not None, "Server.start() first"
        return self._previewer

    def open(self) -> None:
        """Take the data directory (one server per directory), recover from a crash, tidy up."""
        if self._store is not None:
            return
        self.device = resolve_device(self.config.device)
        try:  # a writable directory, or one line now
            check_output_dir(self.config.data_dir, create=True)
        except UserInputError as error:
            raise UserInputError(f"data directory: {error}") from None
        try:
            self.files.prepare()
        except OSError as error:
            raise UserInputError(
                f"cannot use data directory {str(self.config.data_dir)!r}: {error}"
            ) from None
        lock = open(self.config.data_dir / "server.lock", "wb")  # noqa: SIM115 - held while the server runs
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise UserInputError(
                f"another brushwork server is using {str(self.config.data_dir)!r}; stop it or pick "
                "another --data-dir"
            ) from None
        self._lock_file = lock
        self._store = JobStore(self.config.data_dir / "jobs.sqlite3")
        for job in self._store.recover(self.config.max_attempts):
            log.warning("job %s was running when the server stopped: now %s", job.id, job.state)
        self.files.sweep(self._store.ids())

    def start(self) -> None:
        self.open()
        if self._runner is None:
            kinds = {VIDEO: run_video, BATCH: run_batch_job}
            self._runner = Runner(self.store, self.files, self.config, self.device, kinds)
            self._runner.start()
        if self._previewer is None:
            self._previewer = Previewer(self.device)
            if self.config.warm_up:
                self._previewer.warm_up_in_background()

    def close(self) -> None:
        if self._runner is not None:
            self._runner.stop()
            self._runner = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def view(self, job_id: str) -> JobView:
        job = self.store.get(job_id) if is_job_id(job_id) else None
        if job is None:
            raise HTTPException(404, "no such job")
        live = self.runner.live(job_id) if job.state == RUNNING else None
        return JobView.of(job, live, self.store.position(job))


def create_app(config: ServerConfig, server: Server | None = None) -> FastAPI:
    server = server or Server(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(server.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(server.close)

    app = FastAPI(
        title="brushwork",
        version=__version__,
        description="Neural style transfer as a service: queue jobs, watch them run, fetch the pictures.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is at openapi_url
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.server = server
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_schema(
                build_schema(), token=config.token is not None, max_upload_bytes=config.max_upload_bytes
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(Guard, token=config.token, max_body=config.max_body_bytes, larger=config.larger_bodies)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def page(token: str | None = None) -> Response:
        if token is not None and config.token is not None and token_matches(config.token, token):
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, session_value(config.token), httponly=True, samesite="strict")
            return response
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/info", operation_id="get_info")
    def info() -> ServerInfo:
        """The server's device, limits and queue."""
        return ServerInfo(
            version=__version__,
            device=str(server.runner.device),
            workers=config.workers,
            token_required=config.token is not None,
            counts=server.store.counts(),
            limits=Limits(
                max_upload_bytes=config.max_upload_bytes,
                max_pixels=config.max_pixels,
                max_queued=config.max_queued,
                max_size=config.max_size,
                max_steps=config.max_steps,
                max_video_bytes=config.max_video_bytes,
                max_clip_seconds=config.max_clip_seconds,
                max_clip_pixels=config.max_clip_pixels,
                max_batch_items=config.max_batch_items,
                max_batch_bytes=config.max_batch_bytes,
                max_job_seconds=config.max_job_seconds,
            ),
            qualities={
                name: {"final_steps": p.final_steps, "coarse_steps": p.coarse_steps}
                for name, p in QUALITY_PRESETS.items()
            },
        )

    add_media_routes(app, server)

    @app.get("/api/styles", operation_id="list_styles")
    def styles() -> list[Style]:
        """The bundled paintings; pass one's id as ``style_id`` when creating a job."""
        return [
            Style(id=s.id, title=s.title, artist=s.artist, year=s.year, url=s.url) for s in GALLERY.values()
        ]

    default_size = min(Settings.size, config.max_size)
    largest_preview = min(PREVIEW_SIDE, config.max_size)

    @app.post(
        "/api/jobs",
        operation_id="create_job",
        status_code=201,
        response_model=JobView,
        responses=answers(
            400,
            413,
            422,
            429,
            s201={
                "description": "the job, queued",
                "headers": {"Location": {"description": "the job's URL", "schema": STRING}},
                "links": job_links(),
            },
        ),
        dependencies=[Depends(_known_job_fields)],
        openapi_extra=form_rules(
            *STYLE_AND_REGION_RULES,
            # the fast engine has no iterations and no start; quality may only be the default
            unless(
                {"properties": {"method": {"const": "optimize"}}},  # absent or optimize
                {"properties": {"quality": {"const": "normal"}, "steps": False, "init": False}},
            ),
            # denoise works on pictures of at most DENOISE_MAX_PIXELS (a limit only with a large --max-size)
            unless(
                {"properties": {"denoise": {"maximum": 0}}},
                {"properties": {"size": {"maximum": DENOISE_SIDE}}},
            ),
            size={"description": f"(default: {default_size})", **between(MIN_SIZE, config.max_size)},
            steps=between(1, config.max_steps),
            seed=between(0, MAX_SEED),
        ),
    )
    def create_job(
        content: Annotated[UploadFile, File(description="the photo")],
        region: Annotated[RegionForm, Depends(region_form)],
        finishing: Annotated[Finishing, Depends(finishing_form)],
        style: Annotated[UploadFile | None, File(description="a painting (or give style_id)")] = None,
        style_id: Annotated[
            str | None,
            Form(description="a bundled painting's id (see /api/styles)", json_schema_extra=one_of(*GALLERY)),
        ] = None,
        size: Annotated[int | None, Form(description="long side of the output in pixels")] = None,
        quality: Annotated[
            str | None, Form(description="iteration preset", json_schema_extra=one_of(*QUALITY_PRESETS))
        ] = None,
        steps: Annotated[int | None, Form(description="iterations at the final scale")] = None,
        strength: Annotated[
            float | None, Form(description="0 (the photo) to 1 (most style)", json_schema_extra=between(0, 1))
        ] = None,
        preserve_color: Annotated[
            str | None, Form(description="keep the photo's colour", json_schema_extra=one_of(*COLOR_SPACES))
        ] = None,
        style_scale: Annotated[
            float | None,
            Form(description="size of the brush strokes", json_schema_extra=between(*STYLE_SCALE_RANGE)),
        ] = None,
        seed: Annotated[int | None, Form(description="for repeatable results")] = None,
        method: Annotated[
            str | None,
            Form(
                description="optimize (default: the best pictures) or fast (one pass, under a second)",
                json_schema_extra=one_of("optimize", "fast"),
            ),
        ] = None,
        init: Annotated[
            str | None,
            Form(
                description="optimize only: start from the photo or the fast picture (the preset's: fast)",
                json_schema_extra=one_of(*INITS),
            ),
        ] = None,
    ) -> JSONResponse:
        """Queue a job: a photo, a painting (uploaded or from the gallery) and the settings."""
        _check_style_choice(style, style_id)
        if init is not None and init not in INITS:
            raise HTTPException(422, f"init must be one of {', '.join(INITS)}, got {init!r}")
        chosen = {
            "method": method,
            "init": init,
            "size": size,
            "quality": quality,
            "steps": steps,
            "strength": strength,
            "preserve_color": preserve_color,
            "style_scale": style_scale,
            "seed": seed,
            **region.settings(),
            **finishing,
        }
        settings = _settings(chosen, config)
        _check_finishing(settings)
        if server.store.counts()[QUEUED] >= config.max_queued:
            raise HTTPException(429, f"the queue is full ({config.max_queued} jobs waiting); try again later")
        make_room(server, sum(upload.size or 0 for upload in (content, style, region.mask) if upload))
        job_id = new_job_id()
        staging = server.files.staging(job_id)
        try:
            _receive_image(server, content, staging, names.CONTENT, names.CONTENT_THUMB, "the content image")
            if style is not None:
                _receive_image(
                    server, style, staging, names.STYLE, names.STYLE_THUMB, "the style image", MIN_STYLE_SIDE
                )
            else:
                assert style_id is not None
                shutil.copyfile(GALLERY[style_id].path, staging / names.STYLE)
                _thumbnail(server, staging / names.STYLE, staging / names.STYLE_THUMB, "the style image")
            if region.mask is not None:
                _receive_mask(server, region.mask, staging / names.MASK, settings.invert_mask)
            server.files.publish(job_id)
        finally:
            server.files.discard_staging(job_id)
        stored = {name: getattr(settings, name) for name in (*chosen, "coarse_steps")}
        job = server.store.add(job_id, style_id or "upload", stored, config.max_queued)
        if job is None:
            server.files.remove(job_id)
            raise HTTPException(429, f"the queue is full ({config.max_queued} jobs waiting); try again later")
        server.runner.wake()
        view = server.view(job_id)
        return JSONResponse(view.model_dump(), status_code=201, headers={"Location": view.links["job"]})

    @app.post(
        "/api/preview",
        operation_id="create_preview",
        responses=answers(
            400,
            413,
            422,
            429,
            503,
            s200={
                **PNG,
                "description": "the preview",
                "headers": {"X-Brushwork-Seconds": {"description": "seconds painting", "schema": STRING}},
            },
            s204={"description": "the client left before its turn came: nothing was painted"},
        ),
        response_class=Response,
        dependencies=[Depends(_known_preview_fields)],
        openapi_extra=form_rules(
            *STYLE_AND_REGION_RULES,
            size={"description": f"(default: {largest_preview})", **between(MIN_SIZE, largest_preview)},
            style_scale=between(PREVIEW_MIN_STYLE_SCALE, STYLE_SCALE_RANGE[1]),
        ),
    )
    async def instant_preview(
        request: Request,
        content: Annotated[UploadFile, File(description="the photo (a small copy is enough)")],
        region: Annotated[RegionForm, Depends(region_form)],
        finishing: Annotated[Finishing, Depends(finishing_form)],
        style: Annotated[UploadFile | None, File(description="a painting (or give style_id)")] = None,
        style_id: Annotated[
            str | None,
            Form(description="a bundled painting's id (see /api/styles)", json_schema_extra=one_of(*GALLERY)),
        ] = None,
        size: Annotated[int | None, Form(description="long side of the preview")] = None,
        strength: Annotated[
            float | None, Form(description="0 (the photo) to 1 (most style)", json_schema_extra=between(0, 1))
        ] = None,
        preserve_color: Annotated[
            str | None, Form(description="keep the photo's colour", json_schema_extra=one_of(*COLOR_SPACES))
        ] = None,
        style_scale: Annotated[
            float | None,
            Form(description="size of the brush strokes", json_schema_extra=between(*STYLE_SCALE_RANGE)),
        ] = None,
    ) -> Response:
        """The fast engine's picture, painted at once and returned as a PNG; nothing is stored. One
        preview is painted at a time; a request whose client has left while it waited is skipped."""
        _check_style_choice(style, style_id)
        if size is not None and size > largest_preview:
            raise HTTPException(422, f"size must be at most {largest_preview} pixels for a preview")
        if style_scale is not None and style_scale < PREVIEW_MIN_STYLE_SCALE:
            least = PREVIEW_MIN_STYLE_SCALE
            raise HTTPException(422, f"style_scale must be at least {least} for a preview, got {style_scale}")
        chosen = {
            "method": "fast",
            "size": largest_preview if size is None else size,
            "strength": strength,
            "preserve_color": preserve_color,
            "style_scale": style_scale,
            **region.settings(),
            **finishing,
        }
        settings = _settings(chosen, config)
        _check_finishing(settings)
        folder = server.files.staging(new_job_id())  # the uploads, while the preview is painted

        async def wanted() -> bool:
            return not await request.is_disconnected()

        try:
            await anyio.to_thread.run_sync(server.previewer.check_can_run)  # before decoding anything
            photo, painting = await anyio.to_thread.run_sync(
                _preview_inputs, server, folder, content, style, style_id
            )
            if region.mask is not None:
                mask_path = folder / names.MASK
                await anyio.to_thread.run_sync(
                    _receive_mask, server, region.mask, mask_path, settings.invert_mask
                )
                settings = settings.replace(mask=str(mask_path))
            painted = await server.previewer.paint(photo, painting, settings, wanted)
        except PreviewBusy:
            raise HTTPException(429, "too many previews at once; try again in a moment") from None
        except EngineMissing as error:
            raise HTTPException(503, str(error)) from None
        except UserInputError as error:  # the uploads do not do: e.g. no face found for mask_mode faces
            message = str(error).replace(repr(str(folder / names.MASK)), "the mask image")
            raise HTTPException(400, message.replace(str(folder / names.MASK), "the mask image")) from None
        finally:
            server.files.discard_staging(folder.name)
        if painted is None:
            return Response(status_code=204)  # nobody is waiting for it
        headers = {"Cache-Control": "no-store", "X-Brushwork-Seconds": f"{painted.seconds:.3f}"}
        return Response(painted.png, media_type="image/png", headers=headers)

    @app.post(
        "/api/adjust",
        operation_id="adjust_picture",
        responses=answers(400, 413, 422, 429, s200={**PNG, "description": "the adjusted picture"}),
        response_class=Response,
        dependencies=[Depends(_known_adjust_fields)],
    )
    def adjust(
        image: Annotated[UploadFile, File(description=f"a picture, at most {ADJUST_SIDE} px across")],
        finishing: Annotated[Finishing, Depends(finishing_form)],
    ) -> Response:
        """The after-adjustments applied to an uploaded picture (e.g. an instant preview), as a PNG;
        nothing is stored. A job's result is adjusted by GET /api/jobs/{id}/result.png instead."""
        try:
            after = after_of(finishing)
        except SettingsError as error:
            raise HTTPException(422, str(error)) from None
        folder = server.files.staging(new_job_id())
        try:
            _save_upload(server, image, folder / names.CONTENT, "the picture")
            with server.decodes:
                picture = _read(server, folder / names.CONTENT, "the picture")
        finally:
            server.files.discard_staging(folder.name)
        if max(picture.size) > ADJUST_SIDE:
            width, height = picture.size
            raise HTTPException(
                413, f"the picture is {width}x{height}: at most {ADJUST_SIDE} px on the long side here"
            )
        try:
            png = server.finisher.picture(picture, after)
        except FinishBusy:
            raise HTTPException(429, "too many adjustments at once; try again in a moment") from None
        except SettingsError as error:
            raise HTTPException(422, str(error)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.post(
        "/api/mask",
        operation_id="find_mask",
        responses=answers(400, 413, 422, s200={**PNG, "description": "the mask"}),
        response_class=Response,
        dependencies=[Depends(_known_mask_fields)],
    )
    def found_mask(
        content: Annotated[UploadFile, File(description="the photo (a small copy is enough)")],
        mask_mode: Annotated[
            str, Form(description="what to find in the photo", json_schema_extra=one_of(*MASK_MODES))
        ],
    ) -> Response:
        """The mask that ``mask_mode`` finds in the photo (white paints, black keeps the photo), at most
        PREVIEW_SIDE px across, as a PNG to show over the photo before painting; nothing is stored. A
        corrected copy can come back as a job's ``mask``."""
        from brushwork.regions.resolve import region_mask

        if mask_mode not in MASK_MODES:
            raise HTTPException(422, f"mask_mode must be one of {', '.join(MASK_MODES)}, got {mask_mode!r}")
        folder = server.files.staging(new_job_id())
        try:
            _save_upload(server, content, folder / names.CONTENT, "the photo")
            with server.decodes:  # also bounds how many masks are found at once
                picture = _read(server, folder / names.CONTENT, "the photo")
                side = min(PREVIEW_SIDE, max(picture.size))  # never larger than the photo
                rgb = imageio.resize(picture.rgb, imageio.fit_long_side(picture.size, side))
                try:
                    mask = region_mask(mask_mode, rgb).mask
                except UserInputError as error:  # no face found: a valid field, an unusable photo
                    raise HTTPException(400, str(error)) from None
        finally:
            server.files.discard_staging(folder.name)
        png = encode_png(mask[..., None].repeat(3, axis=2))
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/api/jobs", operation_id="list_jobs", responses=answers(422))
    def list_jobs(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="jobs at most")] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="newer jobs to skip")] = 0,
    ) -> JobList:
        """Jobs, newest first."""
        jobs = [server.view(job.id) for job in server.store.page(limit, offset)]
        counts = server.store.counts()
        return JobList(jobs=jobs, total=sum(counts.values()), counts=counts)

    @app.get("/api/jobs/{job_id}", operation_id="get_job", responses=answers(404))
    def get_job(job_id: str) -> JobView:
        """A job's state, progress and links."""
        return server.view(job_id)

    @app.get(
        "/api/jobs/{job_id}/events",
        operation_id="job_events",
        responses=answers(
            404,
            429,
            s200={"content": {"text/event-stream": {"schema": JOB_EVENT}}, "description": "job, then end"},
        ),
        response_class=StreamingResponse,
    )
    async def job_events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``job`` (the job, as from GET /api/jobs/{id}) whenever it changes, then
        ``end`` once it is done, failed or cancelled."""
        first = await anyio.to_thread.run_sync(server.view, job_id)
        if not server.streams.take():
            raise HTTPException(
                429,
                f"too many event streams open ({config.max_event_streams}); poll the job instead",
            )
        return StreamingResponse(
            _counted(server.streams, _events(server, job_id, first, request)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get(
        "/api/jobs/{job_id}/preview.png",
        operation_id="job_preview",
        responses=answers(404, 409, s200={**PNG, "description": "the picture so far"}),
        response_class=Response,
    )
    def preview(job_id: str) -> Response:
        """The picture so far (at the current scale's size); the result once the job is done."""
        view = server.view(job_id)
        name = names.RESULT if view.state == "done" and view.kind == IMAGE else names.PREVIEW
        return _png(server, job_id, name, cache=False)

    @app.get(
        "/api/jobs/{job_id}/result.png",
        operation_id="job_result",
        responses=answers(404, 409, 422, 429, s200={**PNG, "description": "the painting"}),
        response_class=Response,
    )
    def result(
        job_id: str, finishing: Annotated[Finishing, Depends(finishing_query)], download: bool = False
    ) -> Response:
        """The finished picture (PNG, with the settings in its text metadata), with the job's
        after-adjustments, or those given here (each one given replaces the job's). The painting is
        not made again: the job keeps it unadjusted and adjusts a copy on each request."""
        view = server.view(job_id)
        if view.state != "done":
            raise HTTPException(409, f"the job is {view.state}, there is no result")
        try:
            after = after_of({**view.settings, **{k: v for k, v in finishing.items() if v is not None}})
        except SettingsError as error:
            raise HTTPException(422, str(error)) from None
        if after.is_identity:
            response = _png(server, job_id, names.RESULT, cache=True)
        else:
            response = _adjusted(server, job_id, after)
        if download:
            response.headers["Content-Disposition"] = f'attachment; filename="brushwork-{job_id[:8]}.png"'
        return response

    @app.get(
        "/api/jobs/{job_id}/thumb.png",
        operation_id="job_thumb",
        responses=answers(404, 409, s200={**PNG, "description": "a small copy of the painting"}),
        response_class=Response,
    )
    def thumb(job_id: str) -> Response:
        """A small copy of the result."""
        server.view(job_id)
        return _png(server, job_id, names.RESULT_THUMB, cache=True)

    @app.get(
        "/api/jobs/{job_id}/content.png",
        operation_id="job_content",
        responses=answers(404, 409, s200={**PNG, "description": "a small copy of the photo"}),
        response_class=Response,
    )
    def content_thumb(job_id: str) -> Response:
        """A small copy of the photo."""
        server.view(job_id)
        return _png(server, job_id, names.CONTENT_THUMB, cache=True)

    @app.get(
        "/api/jobs/{job_id}/style.png",
        operation_id="job_style",
        responses=answers(404, 409, s200={**PNG, "description": "a small copy of the painting it was given"}),
        response_class=Response,
    )
    def style_thumb(job_id: str) -> Response:
        """A small copy of the painting."""
        server.view(job_id)
        return _png(server, job_id, names.STYLE_THUMB, cache=True)

    @app.post("/api/jobs/{job_id}/cancel", operation_id="cancel_job", responses=answers(404, 409))
    def cancel(job_id: str) -> JobView:
        """Cancel a queued job at once, or stop a running one at its next step."""
        before = server.view(job_id)
        if before.state not in (QUEUED, RUNNING):
            raise HTTPException(409, f"the job is already {before.state}")
        server.store.cancel(job_id)
        server.runner.cancel(job_id)
        return server.view(job_id)

    @app.delete(
        "/api/jobs/{job_id}",
        operation_id="delete_job",
        status_code=204,
        responses=answers(404, 409),
        response_class=Response,
    )
    def delete(job_id: str) -> Response:
        """Forget a job that is not running, with its files."""
        outcome = server.store.delete(job_id) if is_job_id(job_id) else "missing"
        if outcome == "missing":
            raise HTTPException(404, "no such job")
        if outcome == "running":
            raise HTTPException(409, "the job is running; cancel it first")
        server.files.remove(job_id)
        return Response(status_code=204)

    return app


@dataclass(frozen=True)
class RegionForm:
    """Where to paint, as the form gave it."""

    mask: UploadFile | None
    mask_mode: str | None
    invert_mask: bool | None
    protect_faces: bool | None
    protect_text: bool | None

    def settings(self) -> dict[str, Any]:
        """The Settings fields; an uploaded mask is named by its stored file (``files.MASK``)."""
        mode = self.mask_mode
        if mode is not None and mode not in MASK_MODES:
            raise HTTPException(422, f"mask_mode must be one of {', '.join(MASK_MODES)}, got {mode!r}")
        if mode is not None and self.mask is not None:
            raise HTTPException(422, "give either a mask image (mask) or a mask_mode, not both")
        mask = names.MASK if self.mask is not None else mode
        return {
            "mask": mask,
            "invert_mask": self.invert_mask,
            "protect_faces": self.protect_faces,
            "protect_text": self.protect_text,
        }


def region_form(
    mask: Annotated[
        UploadFile | None,
        File(description="a mask image: white paints, black keeps the photo, grey partly (or mask_mode)"),
    ] = None,
    mask_mode: Annotated[
        str | None,
        Form(
            description="paint only the subject, the background, the faces or the text found in the photo "
            "(or mask)",
            json_schema_extra=one_of(*MASK_MODES),
        ),
    ] = None,
    invert_mask: Annotated[
        bool | None, Yes, Form(description="paint where the mask is black instead")
    ] = None,
    protect_faces: Annotated[
        bool | None, Yes, Form(description="detected faces keep most of the photo")
    ] = None,
    protect_text: Annotated[
        bool | None, Yes, Form(description="detected text keeps the photo's letters")
    ] = None,
) -> RegionForm:
    return RegionForm(mask, mask_mode, invert_mask, protect_faces, protect_text)


Finishing = dict[str, float | None]


def _after_field(name: str, text: str, kind: Any = Form) -> Any:
    """A finishing adjustment's form field (or ``kind=Query`` parameter), with its range."""
    low, high, _ = RANGES[name]
    return kind(description=text, json_schema_extra=between(low, high))


FACTOR = "factor, 1 = unchanged"
HUE = "degrees round the colour wheel"
SHARPEN = "unsharp-mask amount, 0 = off"


def finishing_form(
    brightness: Annotated[float | None, _after_field("brightness", f"after: {FACTOR}")] = None,
    contrast: Annotated[float | None, _after_field("contrast", f"after: {FACTOR}")] = None,
    saturation: Annotated[float | None, _after_field("saturation", f"after: {FACTOR}")] = None,
    hue: Annotated[float | None, _after_field("hue", f"after: {HUE}")] = None,
    sharpen: Annotated[float | None, _after_field("sharpen", f"after: {SHARPEN}")] = None,
    denoise: Annotated[float | None, _after_field("denoise", "after: 0 = off")] = None,
) -> Finishing:
    return {
        "brightness": brightness, "contrast": contrast, "saturation": saturation,
        "hue": hue, "sharpen": sharpen, "denoise": denoise,
    }  # fmt: skip


def finishing_query(
    brightness: Annotated[float | None, _after_field("brightness", FACTOR, Query)] = None,
    contrast: Annotated[float | None, _after_field("contrast", FACTOR, Query)] = None,
    saturation: Annotated[float | None, _after_field("saturation", FACTOR, Query)] = None,
    hue: Annotated[float | None, _after_field("hue", HUE, Query)] = None,
    sharpen: Annotated[float | None, _after_field("sharpen", SHARPEN, Query)] = None,
    denoise: Annotated[float | None, _after_field("denoise", "0 = off", Query)] = None,
) -> Finishing:
    return finishing_form(brightness, contrast, saturation, hue, sharpen, denoise)


REGION_FIELDS = ("mask", "mask_mode", "invert_mask", "protect_faces", "protect_text")
FINISHING_FIELDS = ("brightness", "contrast", "saturation", "hue", "sharpen", "denoise")


# The form fields of POST /api/jobs (a test checks them against the endpoint's parameters).
JOB_FIELDS = frozenset(
    (
        "content",
        "style",
        "style_id",
        "size",
        "quality",
        "steps",
        "strength",
        "preserve_color",
        "style_scale",
        "seed",
        "method",
        "init",
        *REGION_FIELDS,
        *FINISHING_FIELDS,
    )
)
# The form fields of POST /api/preview.
PREVIEW_FIELDS = frozenset(
    (
        "content",
        "style",
        "style_id",
        "size",
        "strength",
        "preserve_color",
        "style_scale",
        *REGION_FIELDS,
        *FINISHING_FIELDS,
    )
)
# The form fields of POST /api/adjust.
ADJUST_FIELDS = frozenset(("image", *FINISHING_FIELDS))


async def _known_job_fields(request: Request) -> None:
    await refuse_unknown_fields(request, JOB_FIELDS)


async def _known_preview_fields(request: Request) -> None:
    await refuse_unknown_fields(request, PREVIEW_FIELDS)


async def _known_adjust_fields(request: Request) -> None:
    await refuse_unknown_fields(request, ADJUST_FIELDS)


async def _known_mask_fields(request: Request) -> None:
    await refuse_unknown_fields(request, frozenset(("content", "mask_mode")))


def _settings(chosen: dict[str, Any], config: ServerConfig) -> Settings:
    given = {name: value for name, value in chosen.items() if value is not None}
    if given.get("size", 0) > config.max_size:
        raise HTTPException(422, f"size must be at most {config.max_size} pixels on this server")
    if given.get("steps", 0) > config.max_steps:
        raise HTTPException(422, f"steps must be at most {config.max_steps} on this server")
    try:
        settings = Settings(**given)
    except SettingsError as error:
        raise HTTPException(422, str(error)) from None
    if settings.size > config.max_size:  # the default size may be above a small limit
        settings = settings.replace(size=config.max_size)
    if settings.method == "optimize":  # so may the quality preset's iterations, at any scale
        if settings.coarse_steps_per_scale > config.max_steps:
            settings = settings.replace(coarse_steps=config.max_steps)
        if settings.steps is None and settings.final_steps > config.max_steps:
            settings = settings.replace(steps=config.max_steps)
    return settings


def _check_style_choice(style: UploadFile | None, style_id: str | None) -> None:
    if (style is None) == (style_id is None):
        raise HTTPException(422, "give either a style image (style) or a bundled style (style_id)")
    if style_id is not None and style_id not in GALLERY:
        raise HTTPException(422, f"no bundled style {style_id!r}; see /api/styles")


def _receive_image(
    server: Server, upload: UploadFile, folder: Path, name: str, thumb_name: str, what: str, min_side: int = 1
) -> None:
    """Copy an upload to ``folder/name`` (refusing it past the size limit), check that it decodes and
    has at least ``min_side`` pixels on its short side, and write a small PNG copy the page can show."""
    _save_upload(server, upload, folder / name, what)
    _thumbnail(server, folder / name, folder / thumb_name, what, min_side)


def _preview_inputs(
    server: Server, folder: Path, content: UploadFile, style: UploadFile | None, style_id: str | None
) -> tuple[imageio.Picture, imageio.Picture]:
    """The decoded photo and painting of a preview request (the uploads pass through a staging
    folder, which the caller removes, or the next start after a crash)."""
    _save_upload(server, content, folder / names.CONTENT, "the content image")
    if style is not None:
        style_path = folder / names.STYLE
        _save_upload(server, style, style_path, "the style image")
    else:
        assert style_id is not None
        style_path = GALLERY[style_id].path
    with server.decodes:
        photo = _read(server, folder / names.CONTENT, "the content image")
        painting = _read(server, style_path, "the style image", MIN_STYLE_SIDE)
    return photo, painting


def _receive_mask(server: Server, upload: UploadFile, target: Path, inverted: bool) -> None:
    """Copy a mask upload to ``target``; 400 unless it decodes and paints somewhere."""
    _save_upload(server, upload, target, "the mask image")
    with server.decodes:
        mask = mask_from_picture(_read(server, target, "the mask image"))
    try:
        check_coverage(invert(mask) if inverted else mask, "the mask image", inverted=inverted)
    except UserInputError as error:
        raise HTTPException(400, str(error)) from None


def _check_finishing(settings: Settings) -> None:
    """422 for adjustments the result endpoint would refuse at this size (the longest it may be)."""
    try:
        check_work(settings.after, (settings.size, settings.size))
    except SettingsError as error:
        raise HTTPException(422, str(error)) from None


def _save_upload(server: Server, upload: UploadFile, target: Path, what: str) -> None:
    save_upload(upload, target, server.config.max_upload_bytes, what)


def _thumbnail(server: Server, source: Path, target: Path, what: str, min_side: int = 1) -> None:
    with server.decodes:
        picture = _read(server, source, what, min_side)
        small = imageio.resize(picture.rgb, thumbnail_size(picture.size))
    imageio.write_image(target, small)


def _read(server: Server, source: Path, what: str, min_side: int = 1) -> imageio.Picture:
    """Decode an image (the caller holds ``server.decodes``); 400 naming ``what`` if it is unusable
    or under ``min_side`` pixels on its short side."""
    try:
        picture = imageio.read_image(source, max_pixels=server.config.max_pixels)
    except ImageReadError as error:
        raise HTTPException(400, str(error).replace(repr(str(source)), what)) from None
    if min(picture.size) < min_side:
        width, height = picture.size
        raise HTTPException(
            400,
            f"{what} is {width}x{height}: too small to carry a style (at least {min_side} pixels "
            "on the short side are needed)",
        )
    return picture


def _png(server: Server, job_id: str, name: str, *, cache: bool) -> Response:
    try:
        data = server.files.path(job_id, name).read_bytes()
    except FileNotFoundError:
        if server.store.get(job_id) is None:  # deleted meanwhile
            raise HTTPException(404, "no such job") from None
        raise HTTPException(409, "this picture does not exist (yet)") from None
    headers = {"Cache-Control": "private, max-age=3600" if cache else "no-store"}
    return Response(data, media_type="image/png", headers=headers)


def _adjusted(server: Server, job_id: str, after: After) -> Response:
    source = server.files.path(job_id, names.RESULT)
    if not source.is_file():
        raise HTTPException(404, "no such job")  # the job is done, so it was deleted meanwhile
    try:
        png = server.finisher.stored(source, after, job_id)
    except FinishBusy:
        raise HTTPException(429, "too many adjustments at once; try again in a moment") from None
    except UserInputError as error:  # denoise on a very large result
        raise HTTPException(422, str(error)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


async def _events(server: Server, job_id: str, first: JobView, request: Request) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    view: JobView | None = first
    sent = ""
    last_sent_at = time.monotonic()
    while view is not None:
        text = view.model_dump_json()
        if text != sent:
            yield f"event: job\ndata: {text}\n\n"
            sent, last_sent_at = text, time.monotonic()
        elif time.monotonic() - last_sent_at > EVENT_KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent_at = time.monotonic()
        if view.state not in (QUEUED, RUNNING):
            yield "event: end\ndata: {}\n\n"
            return
        if server.runner.stopping or await request.is_disconnected():
            return
        await asyncio.sleep(EVENT_POLL_SECONDS)
        view = await anyio.to_thread.run_sync(_view_or_none, server, job_id)
    yield 'event: end\ndata: {"deleted": true}\n\n'


class StreamCount:
    """Event streams open at once, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


async def _counted(streams: StreamCount, events: AsyncIterator[str]) -> AsyncIterator[str]:
    """``events``, giving its place back when the stream ends or the client leaves."""
    try:
        async for event in events:
            yield event
    finally:
        streams.give_back()


def _view_or_none(server: Server, job_id: str) -> JobView | None:
    try:
        return server.view(job_id)
    except HTTPException:
        return None


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:  # Starlette names only the first route that matched the path
            headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return JSONResponse(
            {"error": _multipart_problem(error) or str(error.detail)},
            status_code=error.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _describe(error)}, status_code=422)


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """The methods of every route on the request's path."""
    methods: set[str] = set()
    for route in app.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _multipart_problem(error: HTTPException) -> str | None:
    """A clearer message for the multipart parser's refusals, which say only "Invalid multipart data."."""
    cause: BaseException | None = error
    while cause is not None:
        if "maximum header size" in str(cause).lower():
            return (
                "a part of the upload has a header longer than 4 KB, most likely a very long file name; "
                "rename the file and send it again"
            )
        cause = cause.__cause__ or cause.__context__
    return None


def _describe(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors():
        where = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
        problems.append(f"{'.'.join(where) or 'request'}: {item.get('msg', 'invalid')}")
    return "; ".join(problems[:3])
