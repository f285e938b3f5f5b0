"""Video in and out with PyAV: probing, frame-by-frame decoding, and the final encode that keeps every
frame's timestamp, the rotation and pixel aspect, and copies the audio packets.

Nothing here holds more than a frame or two in memory. The output is written to a hidden temporary file
beside it and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from brushwork.errors import UserInputError
from brushwork.outputs import temp_path
from brushwork.video import codecs
from brushwork.video.codecs import Encoding
from brushwork.video.safety import OPEN_OPTIONS
from brushwork.video.sequences import (
    FramesOutput,
    ImageSequence,
    encoded_image,
    find_sequence,
    frames_output,
    is_pattern,
    is_sequence_input,
    read_image,
)
from brushwork.video.tags import ColourTags, colour_tags, kept_metadata, shifted_timecode, tag, timecode_of

RGB8 = npt.NDArray[np.uint8]
# a frame: (H, W, 3) RGB, uint8, or uint16 for a deep (more than 8-bit) clip
Pixels = npt.NDArray[Any]


class VideoReadError(UserInputError):
    """The input is not a readable video (missing, no video stream, no frames, truncated, ...)."""


@dataclass(frozen=True)
class OutputFormat:
    """How an output path is written: a container and video encoding, or a sequence of image files."""

    container: str | None  # FFmpeg muxer name; None for image files
    codec: str | None  # FFmpeg encoder
    pix_fmt: str
    audio_codec: str | None  # what audio is re-encoded to when it cannot be copied; None: no audio
    encoding: Encoding | None = None  # for the codecs of ``--codec``
    frames: FramesOutput | None = None  # for image files

    @property
    def is_folder(self) -> bool:
        return self.container is None

    @property
    def even_size(self) -> bool:
        """Chroma subsampling (4:2:0, 4:2:2) needs even sizes."""
        return self.pix_fmt.startswith(("yuv420", "yuv422", "yuva420", "yuva422", "nv"))

    @property
    def bits(self) -> int:
        """Bits per sample the output holds."""
        if self.frames is not None:
            return self.frames.bits or 8
        return codecs.pixel_bits(self.pix_fmt)


# extension -> (muxer, video encoders in order of preference, pixel format, audio re-encode codec); the
# containers of CONTAINER_CODECS take --codec, the others have one fixed codec
_FORMATS: dict[str, tuple[str, tuple[str, ...], str, str | None]] = {
    ".mp4": ("mp4", ("libx264", "h264", "mpeg4"), "yuv420p", "aac"),
    ".m4v": ("mp4", ("libx264", "h264", "mpeg4"), "yuv420p", "aac"),
    ".mov": ("mov", ("libx264", "h264", "mpeg4"), "yuv420p", "aac"),
    ".mkv": ("matroska", ("libx264", "h264", "mpeg4"), "yuv420p", "aac"),
    ".webm": ("webm", ("libvpx-vp9", "libvpx"), "yuv420p", "libopus"),
    ".avi": ("avi", ("mpeg4", "libx264"), "yuv420p", "aac"),
    ".gif": ("gif", ("gif",), "rgb8", None),
}
FRAMES_FOLDER = OutputFormat(
    container=None,
    codec=None,
    pix_fmt="rgb24",
    audio_codec=None,
    frames=FramesOutput("", "frame_%06d.png", 0),
)


@dataclass(frozen=True)
class CodecRequest:
    """What the command line asks of the video encoding (None: chosen from the container and source)."""

    codec: str | None = None
    profile: str | None = None
    pix_fmt: str | None = None
    bit_depth: int | None = None


def output_format(
    path: str | os.PathLike[str], request: CodecRequest = CodecRequest(), source: VideoInfo | None = None
) -> OutputFormat:
    """The format an output path asks for: by extension; or image files for a path with a %d pattern,
    one with no extension, one ending in a slash, or an existing folder. Raises if no encoder is
    available or the container cannot hold the codec asked for. ``source`` (once probed) lets the
    encoding follow the clip's codec, bit depth and chroma."""
    name = os.fspath(path)
    extension = os.path.splitext(name.rstrip("/"))[1].lower()
    if is_pattern(name) or name.endswith(("/", os.sep)) or not extension or os.path.isdir(name):
        if request.codec is not None or request.profile is not None or request.pix_fmt is not None:
            raise UserInputError(
                f"--codec, --profile and --pix-fmt are for videos, not image files ({name!r})"
            )
        frames = frames_output(name, request.bit_depth)
        if not frames.bits:
            deep = source is not None and source.bits > 8
            default = 16 if frames.extension == ".exr" else 8
            frames = FramesOutput(frames.folder, frames.pattern, 16 if deep else default)
        return OutputFormat(None, None, "rgb48le" if frames.bits > 8 else "rgb24", None, frames=frames)
    if extension not in _FORMATS:
        supported = ", ".join(sorted(_FORMATS))
        raise UserInputError(
            f"cannot write {name!r}: no video encoder for {extension!r} (supported: {supported}, "
            "or image files: a folder name ending in / or a pattern such as frames/frame_%04d.png)"
        )
    container, fixed, pix_fmt, audio_codec = _FORMATS[extension]
    if container in codecs.CONTAINER_CODECS:
        source_fmt = source.pix_fmt if source is not None else None
        if request.bit_depth is not None:
            source_fmt = _with_bits(source_fmt or "yuv420p", request.bit_depth)
        encoding = codecs.choose(
            container,
            name,
            codec=request.codec,
            profile=request.profile,
            pix_fmt=request.pix_fmt,
            source_codec=source.codec if source is not None else None,
            source_pix_fmt=source_fmt,
            source_profile=source.profile if source is not None else None,
        )
        return OutputFormat(container, encoding.encoder, encoding.pix_fmt, audio_codec, encoding=encoding)
    if request.codec is not None or request.profile is not None or request.pix_fmt is not None:
        raise UserInputError(
            f"cannot write {name!r}: {extension} has one codec; --codec is for .mp4, .mov, .mkv, .webm"
        )
    for codec in fixed:
        if codecs.has_encoder(codec):
            return OutputFormat(container, codec, pix_fmt, audio_codec)
    raise UserInputError(
        f"cannot write {name!r}: this FFmpeg build has none of the encoders {', '.join(fixed)}"
    )


def _with_bits(pix_fmt: str, bits: int) -> str:
    if bits not in (8, 10, 12, 16):
        raise UserInputError(f"bit depth must be 8, 10, 12 or 16 for a video, got {bits}")
    base = f"yuv{codecs.chroma(pix_fmt)}p"
    return base if bits == 8 else f"{base}{bits}le"


@dataclass(frozen=True)
class Window:
    """The part of the clip to paint: from ``start`` seconds, for ``duration`` seconds (None: to the end)."""

    start: float = 0.0
    duration: float | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start) and self.start >= 0):
            raise UserInputError(f"start must be a number of seconds >= 0, got {self.start}")
        if self.duration is not None and not (np.isfinite(self.duration) and self.duration > 0):
            raise UserInputError(f"duration must be a number of seconds > 0, got {self.duration}")

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.duration is None

    def contains(self, seconds: float) -> bool:
        # a microsecond of slack, so that a frame exactly at the start is in despite rounding
        if seconds < self.start - 1e-6:
            return False
        return self.duration is None or seconds < self.start + self.duration - 1e-6


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoInfo:
    path: str
    size: tuple[int, int]  # (width, height) as stored, before any rotation
    frames: int | None  # as the container declares it; None when it does not say
    rate: Fraction | None  # average frame rate
    time_base: Fraction
    duration: float | None  # seconds
    stream_duration: float | None  # seconds, as the video stream itself declares it (not the audio)
    rotation: int  # degrees counter-clockwise, from the display matrix
    sample_aspect_ratio: Fraction | None
    codec: str
    audio: tuple[AudioInfo, ...]
    pix_fmt: str = "yuv420p"
    bits: int = 8  # bits per sample of the source's pixels
    colour: ColourTags = field(default_factory=ColourTags)
    timecode: str | None = None  # start timecode, HH:MM:SS:FF
    metadata: dict[str, str] = field(default_factory=dict)  # the container's, kept on the output
    stream_metadata: dict[str, str] = field(default_factory=dict)  # the video stream's, kept likewise
    profile: str | None = None  # FFmpeg's name for the codec profile (ProRes: "HQ", ...)
    sequence: ImageSequence | None = None  # for a folder or pattern of image files

    def expected_frames(self, window: Window) -> int | None:
        """Frames in ``window``: exact for the whole clip when the container says, else an estimate."""
        if window.whole and self.frames:
            return self.frames
        if self.rate is None or self.duration is None:
            return None
        end = self.duration if window.duration is None else min(self.duration, window.start + window.duration)
        return max(0, round((end - window.start) * float(self.rate)))


@contextlib.contextmanager
def reading(path: str) -> Iterator[None]:
    """Turn FFmpeg's and the file system's errors while reading ``path`` into one-line VideoReadErrors."""
    try:
        yield
    except UserInputError:
        raise
    except av.error.EOFError as error:
        raise VideoReadError(f"cannot read {path!r}: it ends before any video frame") from error
    except (av.error.FFmpegError, OSError, ValueError) as error:
        message = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise VideoReadError(f"cannot read {path!r}: {' '.join(str(message).split())}") from error


@contextlib.contextmanager
def writing(path: str) -> Iterator[None]:
    """Turn FFmpeg's and the file system's errors while writing ``path`` into one-line UserInputErrors."""
    try:
        yield
    except UserInputError:
        raise
    except (av.error.FFmpegError, OSError) as error:
        message = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise UserInputError(f"cannot write {path!r}: {' '.join(str(message).split())}") from error


def _packets(
    container: av.container.InputContainer, streams: list[Any], path: str
) -> Iterator[av.Packet[Any]]:
    """``container.demux(*streams)``, with reading errors named as such."""
    packets = container.demux(*streams)
    while True:
        with reading(path):
            packet = next(packets, None)
        if packet is None:
            return
        yield packet


def _decoded(packet: av.Packet[Any], path: str) -> list[Any]:
    with reading(path):
        return list(packet.decode())


def _open(path: str) -> av.container.InputContainer:
    """Opens a local file with the demuxers of known formats only (see :mod:`brushwork.video.safety`)."""
    if not os.path.exists(path):
        raise VideoReadError(f"cannot read {path!r}: no such file")
    if os.path.isdir(path):
        raise VideoReadError(f"cannot read {path!r}: it is a directory")
    try:
        return av.open(path, "r", options=dict(OPEN_OPTIONS))
    except av.error.InvalidDataError as error:
        raise VideoReadError(f"cannot read {path!r}: {' '.join(str(error.strerror).split())}") from error
    except av.error.ArgumentError as error:  # EINVAL: probing found no allowed demuxer
        raise VideoReadError(
            f"cannot read {path!r}: not a video or image format brushwork opens (playlists, "
            "concatenation lists and URLs are refused)"
        ) from error
    except (av.error.FFmpegError, OSError) as error:
        with reading(path):
            raise error
        raise


def probe_input(path: str | os.PathLike[str], fps: Fraction | None = None) -> VideoInfo:
    """:func:`probe` for a video file, or the same for an image sequence (a folder or a %d pattern)."""
    if is_sequence_input(path):
        return probe_sequence(find_sequence(path, fps or Fraction(24)))
    return probe(path)


def probe_sequence(sequence: ImageSequence) -> VideoInfo:
    first = read_image(sequence.files[0], deep=True)
    bits = 16 if first.bits > 8 else 8
    span = sequence.numbers[-1] - sequence.numbers[0] + 1
    return VideoInfo(
        path=sequence.name,
        size=(first.rgb.shape[1], first.rgb.shape[0]),
        frames=len(sequence.files),
        rate=sequence.fps,
        time_base=1 / sequence.fps,
        duration=float(span / sequence.fps),
        stream_duration=float(span / sequence.fps),
        rotation=0,
        sample_aspect_ratio=None,
        codec=sequence.extension.lstrip("."),
        audio=(),
        pix_fmt="rgb48le" if bits > 8 else "rgb24",
        bits=bits,
        sequence=sequence,
    )


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """What the video at ``path`` holds; decodes its first frame, so that a file FFmpeg cannot decode,
    one with no video stream or one with no frames fails here, before any work."""
    name = os.fspath(path)
    container = _open(name)
    with container, reading(name):
        if not container.streams.video:
            raise VideoReadError(f"cannot read {name!r}: it has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:  # FFmpeg has no decoder for it
            raise VideoReadError(f"cannot read {name!r}: no decoder for its video codec in this FFmpeg build")
        try:
            first = next(iter(container.decode(stream)), None)
        except av.error.EOFError:
            first = None
        if first is None:
            raise VideoReadError(f"cannot read {name!r}: its video stream has no frames")
        stream_duration = _stream_duration(stream)
        duration = stream_duration
        if duration is None and container.duration is not None:
            duration = container.duration / av.time_base
        rate = stream.average_rate or stream.guessed_rate
        audio = tuple(
            AudioInfo(a.codec_context.name, a.codec_context.sample_rate or 0, a.codec_context.channels or 0)
            for a in container.streams.audio
        )
        pix_fmt = first.format.name
        return VideoInfo(
            path=name,
            size=(first.width, first.height),
            frames=stream.frames or None,
            rate=Fraction(rate) if rate else None,
            time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
            duration=duration,
            stream_duration=stream_duration,
            rotation=_rotation(first),
            sample_aspect_ratio=_sample_aspect(stream),
            codec=stream.codec_context.name,
            audio=audio,
            pix_fmt=pix_fmt,
            bits=max(8, first.format.components[0].bits),
            colour=colour_tags(first),
            timecode=timecode_of(dict(container.metadata), list(container.streams)),
            metadata=kept_metadata(dict(container.metadata)),
            stream_metadata=kept_metadata(dict(stream.metadata)),
            profile=_profile(stream),
        )


def _profile(stream: av.video.stream.VideoStream) -> str | None:
    try:
        profile = stream.codec_context.profile
    except (AttributeError, ValueError):
        return None
    return str(profile) if profile else None


def _stream_duration(stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION")  # Matroska keeps it as a tag: HH:MM:SS.nnnnnnnnn
    if tag:
        try:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:
            return None
    return None


def _rotation(frame: av.VideoFrame) -> int:
    try:
        return round(frame.rotation) % 360
    except (AttributeError, ValueError):
        return 0


def _sample_aspect(stream: av.video.stream.VideoStream) -> Fraction | None:
    sar = stream.sample_aspect_ratio
    if sar is None or sar <= 0 or sar == 1:
        return None
    return Fraction(sar)


@dataclass(frozen=True)
class DecodedFrame:
    index: int  # 0-based among the frames in the window
    pts: int  # in the stream's time base
    time: float  # seconds
    rgb: Pixels  # (H, W, 3) as stored (no rotation applied); uint16 when read deep
    number: int | None = None  # an image sequence's frame number


def read_frames(
    path: str | os.PathLike[str], window: Window = Window(), *, deep: bool = False
) -> Iterator[DecodedFrame]:
    """The frames of ``path`` inside ``window``, one at a time, in presentation order; 16-bit RGB when
    ``deep`` (for sources of more than 8 bits), else 8-bit."""
    name = os.fspath(path)
    container = _open(name)
    with container, reading(name):
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield from _selected(container, stream, window, name, deep)


def frames_of(info: VideoInfo, window: Window = Window(), *, deep: bool = False) -> Iterator[DecodedFrame]:
    """:func:`read_frames` for what :func:`probe_input` found: a video file or an image sequence."""
    if info.sequence is None:
        yield from read_frames(info.path, window, deep=deep)
        return
    first = info.sequence.numbers[0]
    index = 0
    for number, path in zip(info.sequence.numbers, info.sequence.files, strict=True):
        seconds = float((number - first) / info.sequence.fps)
        if not window.contains(seconds):
            if window.duration is not None and seconds >= window.start + window.duration:
                break
            continue
        rgb = read_image(path, deep=deep).rgb
        if (rgb.shape[1], rgb.shape[0]) != info.size:
            raise VideoReadError(
                f"cannot read {path!r}: it is {rgb.shape[1]}x{rgb.shape[0]}, the sequence's first frame "
                f"{info.size[0]}x{info.size[1]}"
            )
        yield DecodedFrame(index=index, pts=number - first, time=seconds, rgb=rgb, number=number)
        index += 1


def _selected(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    window: Window,
    name: str,
    deep: bool = False,
) -> Iterator[DecodedFrame]:
    time_base = stream.time_base or Fraction(1, 90000)
    if window.start > 0:
        container.seek(int(window.start / time_base), stream=stream, backward=True, any_frame=False)
    index = 0
    last_pts: int | None = None
    for frame in container.decode(stream):
        pts = _frame_pts(frame, last_pts, stream)
        last_pts = pts
        seconds = float(pts * time_base)
        if not window.contains(seconds):
            if window.duration is not None and seconds >= window.start + window.duration:
                break
            continue
        yield DecodedFrame(
            index=index,
            pts=pts,
            time=seconds,
            rgb=_rgb(frame, deep),
        )
        index += 1


def _rgb(frame: av.VideoFrame, deep: bool) -> Pixels:
    """The frame as RGB, converted with its own matrix and range."""
    if deep:
        return np.asarray(frame.to_ndarray(format="rgb48le"), dtype=np.uint16)
    return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def _frame_pts(frame: av.VideoFrame, last: int | None, stream: av.video.stream.VideoStream) -> int:
    if frame.pts is not None:
        return int(frame.pts)
    # no timestamp: one frame period after the last one
    rate = stream.average_rate or stream.guessed_rate or 25
    step = max(1, round(1 / (rate * (stream.time_base or Fraction(1, 90000)))))
    return 0 if last is None else last + step


@dataclass(frozen=True)
class EncodeOptions:
    crf: int | None = None  # constant quality (x264/x265/VP9/AV1); default 18/20/31/30 without a bitrate
    bitrate: int | None = None  # bits per second; replaces crf
    colour: ColourTags | None = None  # the tags written (None: the source's)

    def __post_init__(self) -> None:
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise UserInputError(f"crf must be between 0 and 63, got {self.crf}")
        if self.bitrate is not None and self.bitrate < 10_000:
            raise UserInputError(f"bitrate must be at least 10k bits per second, got {self.bitrate}")


def encode(
    source: VideoInfo,
    target: str | os.PathLike[str],
    fmt: OutputFormat,
    size: tuple[int, int],
    window: Window,
    painted: Callable[[int], Pixels],
    options: EncodeOptions = EncodeOptions(),
    frames: int | None = None,
) -> list[str]:
    """Write the video: frame ``i`` of ``window`` is ``painted(i)`` (uint8 or uint16 RGB), at the input
    frame's timestamp; audio streams are copied packet for packet where the container can hold them,
    re-encoded otherwise; colour tags, timecode and metadata are kept. ``frames`` (the number painted)
    is needed for image files. Returns one-line notes on what could not be kept as it was."""
    name = os.fspath(target)
    if fmt.is_folder:
        assert frames is not None
        return _write_frames(source, name, fmt, window, painted, frames)
    temp = os.fspath(temp_path(name))
    try:
        with writing(name):
            notes = _encode_to(source, temp, fmt, size, window, painted, options)
        os.replace(temp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return notes


def _write_frames(
    source: VideoInfo,
    name: str,
    fmt: OutputFormat,
    window: Window,
    painted: Callable[[int], Pixels],
    count: int,
) -> list[str]:
    """Image files, numbered from the source sequence's first frame number (else from 1), written into a
    hidden folder renamed into place once complete."""
    assert fmt.frames is not None
    notes = []
    if source.audio:
        notes.append(f"image files have no sound: {len(source.audio)} audio stream(s) left out")
    target = Path(fmt.frames.folder or name.rstrip("/" + os.sep) or name)
    temp = temp_path(target)
    temp.mkdir()
    numbers = _frame_numbers(source, window, count)
    try:
        for index, number in enumerate(numbers):
            data = encoded_image(painted(index), fmt.frames.extension, fmt.frames.bits)
            (temp / (fmt.frames.pattern % number)).write_bytes(data)  # the folder is renamed when whole
        if target.is_dir():
            target.rmdir()  # only an empty folder is written into (checked before the run)
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return notes


def _frame_numbers(source: VideoInfo, window: Window, count: int) -> list[int]:
    if source.sequence is None:
        return list(range(1, count + 1))
    return [frame.number or 0 for frame in _sequence_window(source, window)][:count]


def _sequence_window(source: VideoInfo, window: Window) -> Iterator[DecodedFrame]:
    """The window's frames of a sequence without reading the files (numbers and times only)."""
    assert source.sequence is not None
    first = source.sequence.numbers[0]
    index = 0
    empty = np.zeros((0, 0, 3), np.uint8)
    for number in source.sequence.numbers:
        seconds = float((number - first) / source.sequence.fps)
        if window.contains(seconds):
            yield DecodedFrame(index=index, pts=number - first, time=seconds, rgb=empty, number=number)
            index += 1


def _encode_to(
    source: VideoInfo,
    temp: str,
    fmt: OutputFormat,
    size: tuple[int, int],
    window: Window,
    painted: Callable[[int], Pixels],
    options: EncodeOptions,
) -> list[str]:
    assert fmt.container is not None and fmt.codec is not None
    notes: list[str] = []
    if source.sequence is not None:
        return _encode_sequence(source, temp, fmt, size, window, painted, options)
    container = _open(source.path)
    with container, av.open(temp, "w", format=fmt.container, options=_muxer_options(fmt)) as output:
        _keep_metadata(output, source, fmt, window, notes)
        vin = container.streams.video[0]
        vin.thread_type = "AUTO"
        vout = _video_stream(output, fmt, size, source, options)
        out_time_base = _output_time_base(source, fmt)
        audio = _audio_plan(container, output, fmt, notes)
        time_base = vin.time_base or Fraction(1, 90000)
        offset = round(window.start / time_base)
        if window.start > 0:
            with reading(source.path):
                container.seek(int(window.start / time_base), stream=vin, backward=True, any_frame=False)
        index = 0
        last_pts: int | None = None
        done = False
        tags = options.colour or source.colour
        for packet in _packets(container, [vin, *(container.streams[i] for i in audio)], source.path):
            if packet.stream.index == vin.index:
                if done:
                    continue
                for frame in _decoded(packet, source.path):
                    assert isinstance(frame, av.VideoFrame)
                    pts = _frame_pts(frame, last_pts, vin)
                    last_pts = pts
                    seconds = float(pts * time_base)
                    if not window.contains(seconds):
                        done = window.duration is not None and seconds >= window.start + window.duration
                        continue
                    out_pts = round((pts - offset) * time_base / out_time_base)
                    _encode_frame(output, vout, painted(index), out_pts, out_time_base, fmt, tags)
                    index += 1
            elif packet.stream.index in audio:
                audio[packet.stream.index].take(packet, window, source.path)
        output.mux(vout.encode(None))
        for plan in audio.values():
            plan.flush()
    return notes


def _encode_sequence(
    source: VideoInfo,
    temp: str,
    fmt: OutputFormat,
    size: tuple[int, int],
    window: Window,
    painted: Callable[[int], Pixels],
    options: EncodeOptions,
) -> list[str]:
    """An image sequence's painted frames as a video, each at its number / fps from the window's start."""
    assert fmt.container is not None
    notes: list[str] = []
    with av.open(temp, "w", format=fmt.container, options=_muxer_options(fmt)) as output:
        _keep_metadata(output, source, fmt, window, notes)
        vout = _video_stream(output, fmt, size, source, options)
        time_base = _output_time_base(source, fmt)
        tags = options.colour or source.colour
        frames = list(_sequence_window(source, window))
        start = frames[0].pts if frames else 0
        for frame in frames:
            _encode_frame(output, vout, painted(frame.index), frame.pts - start, time_base, fmt, tags)
        output.mux(vout.encode(None))
    return notes


def _keep_metadata(
    output: av.container.OutputContainer,
    source: VideoInfo,
    fmt: OutputFormat,
    window: Window,
    notes: list[str],
) -> None:
    """The source's container metadata and its start timecode (moved on by the window's start)."""
    for key, value in source.metadata.items():
        output.metadata[key] = value
    if source.timecode is None or fmt.container not in ("mov", "mp4", "matroska"):
        if source.timecode is not None:
            notes.append(f"{fmt.container} holds no timecode: {source.timecode} left out")
        return
    frames = round(window.start * float(source.rate)) if source.rate else 0
    timecode = shifted_timecode(source.timecode, frames, source.rate or Fraction(25))
    if timecode is None:
        notes.append(f"timecode {source.timecode} left out: it cannot be moved on to --start here")
        return
    output.metadata["timecode"] = timecode


def _muxer_options(fmt: OutputFormat) -> dict[str, str]:
    if fmt.container == "avi":
        return {"avoid_negative_ts": "disabled"}
    return {}


def _output_time_base(source: VideoInfo, fmt: OutputFormat) -> Fraction:
    """The input's time base, so that every timestamp is kept exactly; AVI counts frames instead (it has
    no timestamps of its own), so it gets one tick per frame at the average rate."""
    if fmt.container == "avi" and source.rate:
        return 1 / source.rate
    return source.time_base


# constant quality where no bitrate is given: (option, default)
_QUALITY = {"libx264": 18, "h264": 18, "libx265": 20, "libsvtav1": 30, "libaom-av1": 30}


def _video_stream(
    output: av.container.OutputContainer,
    fmt: OutputFormat,
    size: tuple[int, int],
    source: VideoInfo,
    options: EncodeOptions,
) -> av.video.stream.VideoStream:
    assert fmt.codec is not None
    stream = output.add_stream(fmt.codec, rate=source.rate or 25)
    assert isinstance(stream, av.video.stream.VideoStream)
    stream.width, stream.height = size
    stream.pix_fmt = fmt.pix_fmt
    time_base = _output_time_base(source, fmt)
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    if source.sample_aspect_ratio is not None:
        stream.codec_context.sample_aspect_ratio = source.sample_aspect_ratio
    if source.rotation:
        stream.set_display_rotation(source.rotation)
    tag(stream.codec_context, options.colour or source.colour)
    for key, value in source.stream_metadata.items():
        stream.metadata[key] = value
    if fmt.codec == "libx265" and fmt.container in ("mov", "mp4"):
        stream.codec_tag = "hvc1"  # what Apple's players and Final Cut look for
    codec_options: dict[str, str] = dict(fmt.encoding.options) if fmt.encoding is not None else {}
    if options.bitrate is not None:
        stream.bit_rate = options.bitrate
        if fmt.codec.startswith("libvpx"):
            codec_options["crf"] = "10"  # VP9 treats the bitrate as a cap with a crf
    elif fmt.codec in _QUALITY:
        codec_options["crf"] = str(_QUALITY[fmt.codec] if options.crf is None else options.crf)
    elif fmt.codec.startswith("libvpx"):
        codec_options.update({"crf": str(31 if options.crf is None else options.crf), "b": "0"})
    elif fmt.codec == "mpeg4":
        quantizer = 3 if options.crf is None else max(1, min(31, options.crf))
        codec_options.update({"flags": "+qscale", "global_quality": str(quantizer * 118)})  # FF_QP2LAMBDA
    stream.options = dict(codec_options)
    return stream


def _encode_frame(
    output: av.container.OutputContainer,
    stream: av.video.stream.VideoStream,
    rgb: Pixels,
    pts: int,
    time_base: Fraction,
    fmt: OutputFormat,
    tags: ColourTags,
) -> None:
    if rgb.shape[:2] != (stream.height, stream.width):
        raise ValueError(
            f"painted frame is {rgb.shape[1]}x{rgb.shape[0]}, not {stream.width}x{stream.height}"
        )
    deep = rgb.dtype == np.uint16
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb48le" if deep else "rgb24")
    if fmt.pix_fmt not in ("rgb24", "rgb48le"):
        if fmt.pix_fmt.startswith(("yuv", "nv")):
            frame = frame.reformat(
                format=fmt.pix_fmt, dst_colorspace=tags.swscale_matrix, dst_color_range=tags.swscale_range
            )
        else:
            frame = frame.reformat(format=fmt.pix_fmt)
    tag(frame, tags)
    frame.pts = pts
    frame.time_base = time_base
    output.mux(stream.encode(frame))


class _AudioCopy:
    """Passes an audio stream's packets through untouched (shifted in time for a window)."""

    def __init__(self, output: av.container.OutputContainer, template: Any) -> None:
        self.output = output
        self.stream = output.add_stream_from_template(template)
        self.time_base = template.time_base

    def take(self, packet: av.Packet[Any], window: Window, path: str) -> None:
        if packet.dts is None:  # the demuxer's flush packet
            return
        if not window.whole:
            assert packet.pts is not None
            if not window.contains(float(packet.pts * self.time_base)):
                return
            shift = round(window.start / self.time_base)
            packet.pts -= shift
            packet.dts -= shift
        packet.stream = self.stream
        self.output.mux(packet)

    def flush(self) -> None:
        pass


class _AudioReencode:
    """Decodes an audio stream and encodes it with a codec the container can hold."""

    def __init__(self, output: av.container.OutputContainer, template: Any, codec: str) -> None:
        self.output = output
        rate = template.codec_context.sample_rate or 48000
        if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        stream = output.add_stream(codec, rate=rate)
        assert isinstance(stream, av.audio.stream.AudioStream)
        self.stream = stream
        self.stream.layout = template.codec_context.layout

    def take(self, packet: av.Packet[Any], window: Window, path: str) -> None:
        for frame in _decoded(packet, path):
            assert isinstance(frame, av.AudioFrame)
            seconds = None
            if frame.pts is not None and frame.time_base is not None:
                seconds = float(frame.pts * frame.time_base)
            if seconds is not None and not window.whole and not window.contains(seconds):
                continue
            frame.pts = None  # the encoder counts samples from zero
            self.output.mux(self.stream.encode(frame))

    def flush(self) -> None:
        self.output.mux(self.stream.encode(None))


def _audio_plan(
    container: av.container.InputContainer,
    output: av.container.OutputContainer,
    fmt: OutputFormat,
    notes: list[str],
) -> dict[int, _AudioCopy | _AudioReencode]:
    streams = list(container.streams.audio)
    if not streams:
        return {}
    if fmt.audio_codec is None:
        notes.append(f"{fmt.container} holds no sound: {len(streams)} audio stream(s) left out")
        return {}
    supported = output.supported_codecs
    plan: dict[int, _AudioCopy | _AudioReencode] = {}
    for stream in streams:
        codec = stream.codec_context.name
        if codec in supported:
            plan[stream.index] = _AudioCopy(output, stream)
        else:
            target = "AAC" if fmt.audio_codec == "aac" else "Opus"
            notes.append(
                f"audio stream {stream.index} ({codec}) re-encoded to {target}: "
                f"{fmt.container} cannot hold {codec}"
            )
            plan[stream.index] = _AudioReencode(output, stream, fmt.audio_codec)
    return plan
