"""Taking in a video job: the clip (probed, within the server's length and resolution limits), its
paintings, and small pictures for the page (the first frame and the first painting)."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import UploadFile
from starlette.exceptions import HTTPException

from brushwork.errors import UserInputError
from brushwork.preflight import MIN_STYLE_SIDE
from brushwork.server import files as names
from brushwork.server.gallery import GALLERY
from brushwork.server.intake import COMMON_FIELDS, check_picture, save_upload, write_thumbnail
from brushwork.server.zips import safe_name

if TYPE_CHECKING:
    from brushwork.server.app import Server

CONTAINERS = {"mp4": "video/mp4", "webm": "video/webm", "mkv": "video/x-matroska"}
VIDEO_FIELDS = frozenset(
    ("video", "style", "style_id", "size", "start", "duration", "temporal_blend", "container", *COMMON_FIELDS)
)


@dataclass(frozen=True)
class VideoChoice:
    size: int  # long side of the painted frames, never above the clip's own
    start: float
    duration: float  # 0: to the end
    temporal_blend: float
    container: str


def receive_video(
    server: Server,
    folder: Path,
    video: UploadFile,
    styles: list[UploadFile],
    style_ids: list[str],
    choice: VideoChoice,
) -> dict[str, Any]:
    """Store and check the uploads in ``folder``; returns the job's options."""
    if any(importlib.util.find_spec(module) is None for module in ("av", "cv2")):
        raise HTTPException(503, "video needs the video extra on the server: pip install 'brushwork[video]'")
    from brushwork.video.io import Window, probe, read_frames

    config = server.config
    clip = folder / names.VIDEO
    save_upload(video, clip, config.max_video_bytes, "the clip")
    try:
        info = probe(clip)
    except UserInputError as error:
        raise HTTPException(400, str(error).replace(repr(str(clip)), "the clip")) from None
    width, height = info.size
    if width * height > config.max_clip_pixels:
        raise HTTPException(
            413, f"the clip is {width}x{height}: at most {config.max_clip_pixels} pixels a frame here"
        )
    seconds = _window_seconds(info.duration, choice.start, choice.duration)
    if seconds > config.max_clip_seconds:
        raise HTTPException(
            413,
            f"{seconds:.1f} s of the clip would be painted: at most {config.max_clip_seconds:g} s here "
            "(give start and duration to paint a part)",
        )
    receive_styles(server, folder / names.STYLES, styles, style_ids)
    first = next(iter(read_frames(clip, Window(choice.start))), None)
    if first is None:
        raise HTTPException(400, f"the clip has no frames after {choice.start:g} s")
    write_thumbnail(first.rgb, folder / names.CONTENT_THUMB)
    return {
        "size": min(choice.size, max(info.size)),
        "start": choice.start,
        "duration": choice.duration,
        "temporal_blend": choice.temporal_blend,
        "container": choice.container,
        "clip": {"width": width, "height": height, "seconds": round(seconds, 3)},
    }


def _window_seconds(clip: float | None, start: float, duration: float) -> float:
    """How long the painted part is; 400 when it is empty or cannot be known: the fields are valid,
    but this clip cannot be used with them (422 is kept for fields the schema refuses)."""
    if clip is None:
        if duration == 0:
            raise HTTPException(400, "the clip does not say how long it is: give a duration")
        return duration
    if start >= clip:
        raise HTTPException(400, f"start is {start:g} s, but the clip is {clip:.2f} s long")
    left = clip - start
    return left if duration == 0 else min(duration, left)


def receive_styles(server: Server, folder: Path, styles: list[UploadFile], style_ids: list[str]) -> None:
    """The paintings into ``folder`` (uploads checked, under names kept for the batch's output names),
    the first one's small copy beside it as the job's style picture."""
    folder.mkdir()
    taken: set[str] = set()
    stored: list[Path] = []
    for upload in styles:
        target = folder / safe_name(upload.filename or "painting", taken)
        save_upload(upload, target, server.config.max_upload_bytes, "a style image")
        stored.append(target)
    for style_id in style_ids:
        target = folder / safe_name(GALLERY[style_id].filename, taken)
        shutil.copyfile(GALLERY[style_id].path, target)
        stored.append(target)
    for index, path in enumerate(stored):
        picture = check_picture(
            path, f"style image {index + 1}", server.config, server.decodes, MIN_STYLE_SIDE
        )
        if index == 0:
            write_thumbnail(picture.rgb, folder.parent / names.STYLE_THUMB)
