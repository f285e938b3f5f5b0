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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
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
    CodecRequest,
    EncodeOptions,
    OutputFormat,
    Pixels,
    VideoInfo,
    VideoReadError,
    Window,
    encode,
    frames_of,
    output_format,
    probe_input,
)
from brushwork.video.resume import WorkFolder, input_digest, work_folder_for
from brushwork.video.safety import Limits, check_disk_space, check_limits, frames_bytes
from brushwork.video.tags import ColourTags
from brushwork.video.temporal import (
    DEFAULT_BLEND,
    FLOW_SCALE,
    LONG_RANGE,
    Carry,
    Stabilizer,
    TemporalTerm,
    carry,
    is_scene_cut,
    shrunk,
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
Step = Callable[[int, Pixels, Pixels | None, Pixels | None], FloatImage]


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
    codec: CodecRequest | None = None,
    colour: Mapping[str, str | None] | None = None,
    fps: Fraction | float | None = None,
    limits: Limits | None = None,
    flow_scale: float = FLOW_SCALE,
    restart: bool = False,
    keep_frames: bool = False,
    callback: VideoCallback | None = None,
) -> VideoResult:
    """Paint ``video`` in the style of ``styles`` and write ``output``.

    The output's extension picks the container (.mp4/.m4v/.mov/.mkv: H.264 unless the source's codec
    fits, .webm: VP9, .avi: MPEG-4, .gif), or a folder or %d pattern gets image files. Every frame keeps
    its input timestamp; rotation and pixel aspect are kept; audio is copied packet for packet where
    the container can hold it (re-encoded otherwise, said in ``notes``).

    ``size`` is the long side of the painted frames (default: the clip's own size; ``settings.size``
    is not used). ``settings.method`` picks the engine (without ``settings``: ``fast``); ``painter``
    replaces it with any deterministic per-frame function. ``temporal_blend`` (0 ≤ b < 1) is how much
    of the previous output, moved along the optical flow, is kept where it can be trusted (0:
    independent frames); the optimizer method instead starts each frame from that warped output.
    ``start``/``duration`` (seconds) paint part of the clip. ``crf`` or ``bitrate`` set the video quality.

    ``codec`` picks the encoder, profile, pixel format or bit depth (see :mod:`brushwork.video.codecs`:
    by default the container's codec, or the source's where the container holds it, at the source's
    bit depth and chroma where the codec holds them; a source of more than 8 bits is painted and kept
    as 16-bit frames then). Colour primaries, transfer, matrix and range are copied from the source
    unless ``colour`` names them (keys ``primaries``, ``transfer``, ``matrix``, ``range``: FFmpeg's
    names); the timecode and the container's and stream's metadata are kept. ``video`` may be a folder
    of frames or a printf pattern (``shot/f_%04d.exr``, at ``fps``, 24 by default), and ``output`` a
    folder or pattern of PNG, TIFF or EXR files, numbered as the input's frames. Inputs open only
    through known demuxers, within ``limits``; the disk must hold the work folder's frames.
    ``flow_scale`` is the share of each side at which the temporal blending's optical flow runs.

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
    codec = codec or CodecRequest()
    limits = limits or Limits()
    if not 0.1 <= flow_scale <= 1:
        raise SettingsError(f"flow scale must be between 0.1 and 1, got {flow_scale}")
    stabilizer = _stabilizer(temporal_blend)
    output_format(output, codec)  # the output's name and codec, checked before the input is read
    style_list: list[StyleInput] = list(styles) if isinstance(styles, list | tuple) else [styles]  # type: ignore[list-item]
    if not style_list and painter is None:
        raise UserInputError("at least one style image is needed")
    rate = _frame_rate(fps)
    info = probe_input(video, rate)
    fmt = output_format(output, codec, info)
    _check_paths(video, output, fmt, style_list)
    seconds = (
        info.duration if window.duration is None else min(window.duration, info.duration or window.duration)
    )
    check_limits(info.path, info.size, seconds, info.frames if window.whole else None, limits)
    tags = _colour(info.colour, colour)
    options = EncodeOptions(crf=crf, bitrate=bitrate, colour=tags)
    deep = info.bits > 8 and fmt.bits > 8
    frame_size = painted_size(info.size, size, fmt)
    settings = settings.replace(size=max(frame_size))
    style_pictures = [_style_picture(style) for style in style_list]
    method = "custom" if painter is not None else settings.method

    manifest = {
        "input": {"name": os.path.basename(os.fspath(video).rstrip("/")), "sha256": input_digest(info)},
        "styles": [_digest(picture) for picture in style_pictures],
        "settings": settings.to_dict(),
        "video": {
            "size": list(frame_size),
            "start": window.start,
            "duration": window.duration,
            "method": method,
            "temporal_blend": stabilizer.blend,
            "painter": _painter_name(painter),
            "bits": 16 if deep else 8,
            "flow_scale": flow_scale,
        },
    }
    expected = info.expected_frames(window)
    work_path = work_folder_for(output)
    if expected:
        needed = frames_bytes(frame_size, expected, 16 if deep else 8)
        check_disk_space(work_path.parent, 2 * needed if fmt.is_folder else needed)  # image files: twice
    work = WorkFolder(work_path, manifest, restart=restart)
    try:
        run = _Run(info, window, frame_size, work, stabilizer, started, callback, deep, flow_scale)
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
        notes = encode(info, output, fmt, frame_size, window, work.load, options, frames=run.done)
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


def _frame_rate(fps: Fraction | float | None) -> Fraction | None:
    if fps is None:
        return None
    rate = Fraction(fps).limit_denominator(1001)
    if not 1 <= rate <= 1000:
        raise SettingsError(f"fps must be between 1 and 1000, got {float(fps):g}")
    return rate


def _colour(source: ColourTags, names: Mapping[str, str | None] | None) -> ColourTags:
    names = names or {}
    return source.overridden(
        names.get("primaries"), names.get("transfer"), names.get("matrix"), names.get("range")
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
    if fmt.encoding is not None and fmt.encoding.codec == "dnxhr" and (width < 256 or height < 120):
        raise SettingsError(f"DNxHR needs frames of at least 256x120, these are {width}x{height}")
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
    if fmt.frames is not None and fmt.frames.folder:
        name = fmt.frames.folder
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


def _quantized(image: npt.NDArray[Any], deep: bool) -> Pixels:
    if not deep:
        return _to_uint8(image)
    return np.clip(np.round(np.asarray(image, dtype=np.float32) * 65535.0), 0, 65535).astype(np.uint16)


def _unit(image: Pixels) -> FloatImage:
    """uint8 or uint16 RGB as float32 in [0, 1]."""
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    return image.astype(np.float32) / scale


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
        deep: bool = False,
        flow_scale: float = FLOW_SCALE,
    ) -> None:
        self.info, self.window, self.size, self.work = info, window, size, work
        self.deep, self.flow_scale = deep, flow_scale
        self.stabilizer = stabilizer
        self.started = started
        self.callback = callback
        self.total = info.expected_frames(window)
        self.flow = FlowEstimator()
        self.recent_inputs: deque[Pixels] = deque(maxlen=LONG_RANGE)  # the frames before the current one
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
        previous_input: Pixels | None = None
        previous_output: Pixels | None = None
        for frame in frames_of(self.info, self.window, deep=self.deep):
            current = np.ascontiguousarray(_fitted(frame.rgb, self.size))
            if self.work.has(frame.index):
                self.reused += 1
                previous_output = None
            else:
                if previous_output is None and frame.index > 0:
                    previous_output = self.work.load(frame.index - 1)
                previous_output = _quantized(
                    step(frame.index, current, previous_input, previous_output), self.deep
                )
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

    def _pair(self, previous: Pixels | None, current: Pixels) -> FramePair | None:
        if previous is None or self.stabilizer.blend == 0:
            return None
        return frame_pair(self.flow, shrunk(previous, 1), shrunk(current, 1))

    def paint_each(self, painter: FramePainter) -> None:
        """Per-frame painting, stabilised by blending with the previous output along the flow. The flow
        runs in a second thread while the frame is painted (OpenCV and torch release the GIL), on
        frames shrunk by ``flow_scale``."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="brushwork-flow") as pool:

            def step(
                index: int, current: Pixels, previous_input: Pixels | None, previous_output: Pixels | None
            ) -> FloatImage:
                moving: Future[Carry | None] | None = None
                if previous_input is not None and self.stabilizer.blend > 0:
                    moving = pool.submit(carry, self.flow, previous_input, current, self.flow_scale)
                painted = _fitted(np.asarray(painter(_unit(current)), np.float32), self.size)
                moved = moving.result() if moving is not None else None
                image, _ = self.stabilizer(painted, moved, previous_output)
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
            index: int, current: Pixels, previous_input: Pixels | None, previous_output: Pixels | None
        ) -> FloatImage:
            photo = _unit(current)
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
        self, index: int, current: Pixels, previous_output: Pixels, pair: FramePair, trusted: FloatImage
    ) -> TemporalTerm:
        from brushwork.features import from_caffe

        older = None
        if index >= LONG_RANGE and len(self.recent_inputs) == LONG_RANGE:
            older_input = self.recent_inputs[0]  # frame index - LONG_RANGE
            long_pair = frame_pair(self.flow, shrunk(older_input, 1), shrunk(current, 1))
            long_trusted = trusted_mask(long_pair, older_input, current)
            older = (self.work.load(index - LONG_RANGE), long_pair, long_trusted)
        return temporal_term(previous_output, pair, trusted, older, convert=from_caffe)


def refine_steps(settings: Settings) -> int:
    """L-BFGS evaluations for a frame that starts from the previous output moved along the flow."""
    if settings.forms_limit is None:
        return max(3, settings.final_steps // 3)
    return max(3, settings.coarse_steps_per_scale // 8)
