"""``stylize_video()``: paint every frame of a clip, keep it steady from frame to frame, and write a
video with the input's timing and sound. Resumable: finished frames wait in a work folder beside the
output until the video is written."""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
import torch

from brushwork import imageio
from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError
from brushwork.imageio import Picture
from brushwork.outputs import check_output, check_output_dir
from brushwork.video.flow import FlowEstimator, FramePair, frame_pair
from brushwork.video.io import (
    RGB8,
    EncodeOptions,
    OutputFormat,
    VideoInfo,
    VideoReadError,
    Window,
    encode,
    output_format,
    probe,
    read_frames,
)
from brushwork.video.resume import WorkFolder, file_digest, work_folder_for
from brushwork.video.temporal import (
    DEFAULT_BLEND,
    LONG_RANGE,
    Stabilizer,
    TemporalTerm,
    is_scene_cut,
    start_image,
    temporal_term,
    trusted_mask,
)

FloatImage = npt.NDArray[np.float32]
# Paints one frame: (H, W, 3) float32 RGB in [0, 1] in, the same shape out. It must be deterministic
# (same frame, same picture) for an interrupted run to resume into the same video.
FramePainter = Callable[[FloatImage], FloatImage]
StyleInput = str | os.PathLike[str] | Picture | npt.NDArray[Any]


@dataclass(frozen=True)
class VideoProgress:
    """Sent to the callback after every frame, and once when encoding starts."""

    stage: Literal["painting", "encoding"]
    done: int  # frames finished, including those found in the work folder
    total: int | None  # frames expected (None when the container does not say)
    painted: int  # frames painted by this run
    reused: int  # frames found finished in the work folder
    elapsed: float  # seconds since stylize_video() started
    # the frame this run just painted, (H, W, 3) uint8 RGB; None for a reused frame and when encoding
    frame: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class VideoResult:
    output: str
    frames: int
    painted: int  # by this run
    reused: int  # found finished from an earlier, interrupted run
    size: tuple[int, int]
    method: str
    temporal_blend: float
    timings: dict[str, float]  # seconds: painting, encoding, total
    notes: list[str]  # one-line remarks on what could not be kept (audio re-encoded or left out)
    settings: Settings
    work_folder: str | None = field(default=None)  # kept when keep_frames=True

    def record(self) -> dict[str, Any]:
        painting = self.timings["painting"]
        return {
            "output": self.output,
            "frames": self.frames,
            "painted": self.painted,
            "reused": self.reused,
            "size": list(self.size),
            "method": self.method,
            "temporal_blend": self.temporal_blend,
            "seconds": round(self.timings["total"], 3),
            "seconds_per_frame": round(painting / self.painted, 4) if self.painted else None,
            "notes": self.notes,
            "settings": self.settings.to_dict(),
        }


VideoCallback = Callable[[VideoProgress], None]
# paints one frame: (index, input frame, previous input frame, previous output) -> the frame to keep
Step = Callable[[int, RGB8, RGB8 | None, RGB8 | None], FloatImage]


def stylize_video(
    video: str | os.PathLike[str],
    styles: StyleInput | Sequence[StyleInput],
    output: str | os.PathLike[str],
    *,
    settings: Settings | None = None,
    size: int | None = None,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    painter: FramePainter | None = None,
    start: float = 0.0,
    duration: float | None = None,
    temporal_blend: float = DEFAULT_BLEND,
    crf: int | None = None,
    bitrate: int | None = None,
    restart: bool = False,
    keep_frames: bool = False,
    callback: VideoCallback | None = None,
) -> VideoResult:
    """Paint ``video`` in the style of ``styles`` and write ``output``.

    The output's extension picks container and codec (.mp4/.mov/.mkv/.m4v: H.264, .webm: VP9,
    .avi: MPEG-4, .gif), or a path with no extension gets a folder of PNG frames. Every frame keeps
    its input timestamp; rotation and pixel aspect are kept; audio is copied packet for packet where
    the container can hold it (re-encoded otherwise, said in ``notes``).

    ``size`` is the long side of the painted frames (default: the clip's own size; ``settings.size``
    is not used). ``settings.method`` picks the engine (without ``settings``: ``fast``); ``painter``
    replaces it with any deterministic per-frame function. ``temporal_blend`` (0 ≤ b < 1) is how much
    of the previous output, moved along the optical flow, is kept where it can be trusted (0:
    independent frames); the optimizer method instead starts each frame from that warped output.
    ``start``/``duration`` (seconds) paint part of the clip. ``crf`` or ``bitrate`` set the video quality.

    Finished frames are kept in ``OUTPUT.brushwork-frames`` beside the output: running the same call
    again after an interruption continues where it stopped and gives the same video; a different
    input, styles or settings raise :class:`SettingsError` unless ``restart``. The folder is removed
    once the output is written, unless ``keep_frames``.
    """
    started = time.perf_counter()
    settings = settings or Settings(method="fast")
    if not settings.before.is_identity:  # every frame must keep the clip's own size and geometry
        changed = ", ".join(f"--{name}" for name in settings.before.describe())
        raise SettingsError(
            f"{changed} cannot be used on a video: trim or turn the clip in a video editor first"
        )
    window = Window(start, duration)
    options = EncodeOptions(crf=crf, bitrate=bitrate)
    stabilizer = _stabilizer(temporal_blend)
    fmt = output_format(output)
    style_list: list[StyleInput] = list(styles) if isinstance(styles, list | tuple) else [styles]  # type: ignore[list-item]
    if not style_list and painter is None:
        raise UserInputError("at least one style image is needed")
    _check_paths(video, output, fmt, style_list)
    info = probe(video)
    frame_size = painted_size(info.size, size, fmt)
    settings = settings.replace(size=max(frame_size))
    style_pictures = [_style_picture(style) for style in style_list]
    method = "custom" if painter is not None else settings.method

    manifest = {
        "input": {"name": os.path.basename(os.fspath(video)), "sha256": file_digest(video)},
        "styles": [_digest(picture) for picture in style_pictures],
        "settings": settings.to_dict(),
        "video": {
            "size": list(frame_size),
            "start": window.start,
            "duration": window.duration,
            "method": method,
            "temporal_blend": stabilizer.blend,
            "painter": _painter_name(painter),
        },
    }
    work = WorkFolder(work_folder_for(output), manifest, restart=restart)
    try:
        run = _Run(info, window, frame_size, work, stabilizer, started, callback)
        try:
            if painter is not None or method == "fast":
                run.paint_each(painter or _engine_painter(style_pictures, settings, device, weights))
            else:
                run.optimize_each(style_pictures, settings, device, weights)
        except VideoReadError:
            work.remove()  # a broken input: nothing worth keeping
            raise
        painted_at = time.perf_counter()
        run.report("encoding")
        # the frames are all painted: whatever goes wrong from here on, they stay for the next run
        notes = encode(info, output, fmt, frame_size, window, work.load, options)
    except BaseException:
        work.close()
        raise
    finished = time.perf_counter()
    if keep_frames:
        work.close()
    else:
        work.remove()
    return VideoResult(
        output=os.fspath(output),
        frames=run.done,
        painted=run.painted,
        reused=run.reused,
        size=frame_size,
        method=method,
        temporal_blend=stabilizer.blend,
        timings={
            "painting": painted_at - started,
            "encoding": finished - painted_at,
            "total": finished - started,
        },
        notes=notes,
        settings=settings,
        work_folder=str(work.path) if keep_frames else None,
    )


def _stabilizer(blend: float) -> Stabilizer:
    try:
        return Stabilizer(blend)
    except ValueError:
        raise SettingsError(f"temporal-blend must be at least 0 and below 1, got {blend}") from None


def painted_size(clip: tuple[int, int], size: int | None, fmt: OutputFormat) -> tuple[int, int]:
    """(width, height) of the painted frames: the clip's, or fitted to ``size``; even for 4:2:0 codecs."""
    width, height = clip if size is None else imageio.fit_long_side(clip, size)
    if size is not None and not 16 <= size <= 16384:
        raise SettingsError(f"size must be between 16 and 16384 pixels, got {size}")
    if fmt.even_size:
        width, height = max(2, width - width % 2), max(2, height - height % 2)
    return width, height


def _check_paths(
    video: str | os.PathLike[str],
    output: str | os.PathLike[str],
    fmt: OutputFormat,
    styles: Sequence[StyleInput],
) -> None:
    """Before any work: the output (and the work folder beside it) can be written and is no input."""
    inputs = [video, *(style for style in styles if isinstance(style, str | os.PathLike))]
    name = os.fspath(output).rstrip("/" + os.sep) or os.fspath(output)
    if fmt.is_folder and os.path.isdir(name):
        if any(os.scandir(name)):
            raise UserInputError(f"cannot write frames into {name!r}: the folder is not empty")
        check_output_dir(name, inputs)
    else:
        check_output(name, inputs)
    work = work_folder_for(name)
    if not work.is_dir():  # an existing one is the earlier run's, checked when it is opened
        check_output(work, inputs, probe=False)


def _style_picture(style: StyleInput) -> Picture:
    if isinstance(style, Picture):
        return style
    if isinstance(style, np.ndarray):
        if style.ndim != 3 or style.shape[2] != 3:
            raise UserInputError(f"style array must have shape (H, W, 3), got {style.shape}")
        rgb = style.astype(np.float32) / 255.0 if style.dtype == np.uint8 else style.astype(np.float32)
        return Picture(rgb=np.clip(rgb, 0.0, 1.0), alpha=None, bits=8)
    return imageio.read_image(style)


def _digest(picture: Picture) -> str:
    return hashlib.sha256(np.ascontiguousarray(picture.rgb, dtype=np.float32).tobytes()).hexdigest()


def _painter_name(painter: FramePainter | None) -> str | None:
    if painter is None:
        return None
    named = getattr(painter, "__qualname__", None) or type(painter).__qualname__
    return f"{getattr(painter, '__module__', '?')}.{named}"


def _engine_painter(
    styles: Sequence[Picture], settings: Settings, device: str | torch.device, weights: Any
) -> FramePainter:
    from brushwork.api import stylize

    def paint(frame: FloatImage) -> FloatImage:
        return stylize(frame, list(styles), settings=settings, device=device, weights=weights).image

    return paint


def _fast_fill(
    photo: FloatImage, styles: Sequence[Picture], settings: Settings, device: str | torch.device
) -> FloatImage:
    """The fast engine's painting of ``photo``: where the optimizer starts pixels the flow cannot
    bring from the previous frame (as ``init="fast"`` does for a still)."""
    from brushwork.engines.feedforward.engine import paint
    from brushwork.progress import to_numpy, to_tensor

    where = torch.device(device)
    blend = settings.style_blend or tuple(1.0 for _ in styles)
    plain = settings.replace(match_colors=None, preserve_color=None, strength=None)
    painted = paint(to_tensor(photo, where), [to_tensor(p.rgb, where) for p in styles], blend, plain)
    return to_numpy(painted)


def _to_uint8(image: npt.NDArray[Any]) -> RGB8:
    return np.clip(np.round(np.asarray(image, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def _fitted(image: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class _Run:
    """The frame loop: skips what the work folder already holds, paints the rest in order."""

    def __init__(
        self,
        info: VideoInfo,
        window: Window,
        size: tuple[int, int],
        work: WorkFolder,
        stabilizer: Stabilizer,
        started: float,
        callback: VideoCallback | None,
    ) -> None:
        self.info, self.window, self.size, self.work = info, window, size, work
        self.stabilizer = stabilizer
        self.started = started
        self.callback = callback
        self.total = info.expected_frames(window)
        self.flow = FlowEstimator()
        self.recent_inputs: deque[RGB8] = deque(maxlen=LONG_RANGE)  # the frames before the current one
        self.done = self.painted = self.reused = 0
        self.last_time = 0.0

    def report(self, stage: Literal["painting", "encoding"], frame: RGB8 | None = None) -> None:
        if self.callback is not None:
            self.callback(
                VideoProgress(
                    stage=stage,
                    done=self.done,
                    total=self.total,
                    painted=self.painted,
                    reused=self.reused,
                    elapsed=time.perf_counter() - self.started,
                    frame=frame,
                )
            )

    def _loop(self, step: Step) -> None:
        """Calls ``step(index, input frame at the painted size, previous input frame, previous output)``
        for each frame still to paint and keeps what it returns; finished frames are counted and skipped
        (and read back only when the next frame needs them)."""
        previous_input: RGB8 | None = None
        previous_output: RGB8 | None = None
        for frame in read_frames(self.info.path, self.window):
            current = np.ascontiguousarray(_fitted(frame.rgb, self.size))
            if self.work.has(frame.index):
                self.reused += 1
                previous_output = None
            else:
                if previous_output is None and frame.index > 0:
                    previous_output = self.work.load(frame.index - 1)
                previous_output = _to_uint8(step(frame.index, current, previous_input, previous_output))
                self.work.save(frame.index, previous_output)
                self.painted += 1
            previous_input = current
            self.recent_inputs.append(current)
            self.last_time = frame.time
            self.done += 1
            self.report("painting", previous_output)
        self._check_count()

    def _check_count(self) -> None:
        name = self.info.path
        if self.done == 0:
            raise VideoReadError(f"cannot read {name!r}: no frames between {self.window.start} s and the end")
        if not self.window.whole:
            return
        if self.info.frames and self.done < self.info.frames:
            raise VideoReadError(
                f"cannot read {name!r}: truncated or damaged, only {self.done} of its {self.info.frames} "
                "frames decode"
            )
        declared, rate = self.info.stream_duration, self.info.rate
        if declared is not None and rate and self.last_time + 3 / float(rate) < declared:
            raise VideoReadError(
                f"cannot read {name!r}: truncated or damaged, its frames stop at {self.last_time:.2f} s "
                f"of {declared:.2f} s"
            )

    def _pair(self, previous: RGB8 | None, current: RGB8) -> FramePair | None:
        if previous is None or self.stabilizer.blend == 0:
            return None
        return frame_pair(self.flow, previous, current)

    def paint_each(self, painter: FramePainter) -> None:
        """Per-frame painting, stabilised by blending with the previous output along the flow."""

        def step(
            index: int, current: RGB8, previous_input: RGB8 | None, previous_output: RGB8 | None
        ) -> FloatImage:
            painted = _fitted(np.asarray(painter(current.astype(np.float32) / 255.0), np.float32), self.size)
            pair = self._pair(previous_input, current)
            image, _ = self.stabilizer(painted, pair, previous_input, current, previous_output)
            return image

        self._loop(step)

    def optimize_each(
        self, styles: Sequence[Picture], settings: Settings, device: str | torch.device, weights: Any
    ) -> None:
        """The optimizer: the first frame and scene cuts get the full pyramid; every other frame starts
        from the previous output moved along the flow (the fast engine's painting where the flow cannot
        be trusted) and gets a short refinement at the final scale."""
        from brushwork.api import stylize

        # A frame after the first starts close to its answer: a short L-BFGS refinement at full size
        # (normal: 3 evaluations, against a still's 30 + 7 at the forms scales and 4 at full size).
        refine = settings.replace(pyramid=False, steps=refine_steps(settings))
        # The optimizer's hook for the temporal term: an extra loss on the image being optimized, added to
        # its objective. Used as soon as stylize() has it (see temporal.TemporalTerm).
        hooked = "extra_loss" in inspect.signature(stylize).parameters

        def step(
            index: int, current: RGB8, previous_input: RGB8 | None, previous_output: RGB8 | None
        ) -> FloatImage:
            photo = current.astype(np.float32) / 255.0
            pair = self._pair(previous_input, current)
            if pair is None or previous_input is None or previous_output is None:
                return stylize(photo, list(styles), settings=settings, device=device, weights=weights).image
            trusted = trusted_mask(pair, previous_input, current)
            if is_scene_cut(trusted):
                return stylize(photo, list(styles), settings=settings, device=device, weights=weights).image
            begin = start_image(pair, trusted, previous_output, _fast_fill(photo, styles, settings, device))
            extra: dict[str, Any] = {}
            if hooked:
                extra["extra_loss"] = self._temporal_term(index, current, previous_output, pair, trusted)
            with tempfile.TemporaryDirectory(dir=self.work.path) as folder:
                init = os.path.join(folder, "start.png")
                imageio.write_image(init, begin, bits=16)
                result = stylize(
                    photo,
                    list(styles),
                    settings=refine.replace(init=init),
                    device=device,
                    weights=weights,
                    **extra,
                )
            return _fitted(result.image, self.size)

        self._loop(step)

    def _temporal_term(
        self, index: int, current: RGB8, previous_output: RGB8, pair: FramePair, trusted: FloatImage
    ) -> TemporalTerm:
        from brushwork.features import from_caffe

        older = None
        if index >= LONG_RANGE and len(self.recent_inputs) == LONG_RANGE:
            older_input = self.recent_inputs[0]  # frame index - LONG_RANGE
            long_pair = frame_pair(self.flow, older_input, current)
            long_trusted = trusted_mask(long_pair, older_input, current)
            older = (self.work.load(index - LONG_RANGE), long_pair, long_trusted)
        return temporal_term(previous_output, pair, trusted, older, convert=from_caffe)


def refine_steps(settings: Settings) -> int:
    """L-BFGS evaluations for a frame that starts from the previous output moved along the flow."""
    if settings.forms_limit is None:
        return max(3, settings.final_steps // 3)
    return max(3, settings.coarse_steps_per_scale // 8)
