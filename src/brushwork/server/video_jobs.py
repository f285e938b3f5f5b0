"""Running a video job: :func:`brushwork.video.stylize_video` on the uploaded clip, into the job's folder.

The library keeps finished frames beside the output until the video is written, so a job interrupted
by a restart or a crash continues from them when it runs again. Progress counts frames; the latest
painted frame is the job's preview.
"""

from __future__ import annotations

import time

from brushwork import imageio
from brushwork.server import files as names
from brushwork.server.runner import Finished, Live, Runner, settings_of, thumbnail_size
from brushwork.server.store import DONE, Job


def run_video(runner: Runner, job: Job) -> Finished:
    from brushwork.video.api import VideoProgress, stylize_video

    options = job.options
    output = runner.files.path(job.id, names.result_video(options["container"]))
    preview_path = runner.files.path(job.id, names.PREVIEW)
    previews = 0
    last_preview = 0.0
    last_frame = None

    def on_progress(p: VideoProgress) -> None:
        nonlocal previews, last_preview, last_frame
        runner.check(job.id)
        last_frame = p.frame if p.frame is not None else last_frame
        now = time.monotonic()
        if p.frame is not None and (previews == 0 or now - last_preview >= runner.config.preview_interval):
            imageio.write_image(preview_path, p.frame.astype("float32") / 255.0)
            previews += 1
            last_preview = now
        total = max(p.total or 0, p.done)
        eta = p.elapsed / p.painted * (total - p.done) if p.painted and p.stage == "painting" else None
        runner.publish(
            job.id,
            Live(p.done, total, 1, 1, None, p.elapsed, eta, previews, unit="frame"),
        )

    result = stylize_video(
        runner.files.path(job.id, names.VIDEO),
        sorted((runner.files.folder(job.id) / names.STYLES).iterdir()),
        output,
        settings=settings_of(job),
        size=options["size"],
        device=runner.device,
        start=options["start"],
        duration=options["duration"] or None,
        temporal_blend=options["temporal_blend"],
        callback=on_progress,
    )
    if last_frame is not None:
        small = imageio.resize(last_frame.astype("float32") / 255.0, thumbnail_size(result.size))
        imageio.write_image(runner.files.path(job.id, names.RESULT_THUMB), small)
    return Finished(
        DONE,
        done=result.frames,
        total=result.frames,
        size=result.size,
        outcome={"frames": result.frames, "reused": result.reused, "notes": result.notes},
    )
