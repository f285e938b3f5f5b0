"""Tiny synthetic clips for the video tests: a texture panned by a known sub-pixel shift, a moving
occluder, and a sine-wave audio track; made with PyAV so the tests need no files."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

SHIFT = (0.6, 0.35)  # pixels per frame the texture moves, (x, y)


def texture(width: int, height: int, seed: int = 0) -> npt.NDArray[np.float32]:
    """A smooth random colour texture, larger than the frame so that it can be panned."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((height // 4 + 2, width // 4 + 2, 3)).astype(np.float32)
    big = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(big, 0.0, 1.0)


def frame_at(index: int, width: int, height: int, base: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Frame ``index``: ``base`` moved by index × SHIFT (sub-pixel, bilinear) with a grey square passing
    over it from left to right."""
    dx, dy = SHIFT[0] * index, SHIFT[1] * index
    matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    moved = cv2.warpAffine(base, matrix, (base.shape[1], base.shape[0]), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    crop = moved[8 : 8 + height, 8 : 8 + width].copy()
    side = max(6, height // 4)
    x0 = int(2 + index * 3) % max(1, width - side)
    y0 = height // 2 - side // 2
    crop[y0 : y0 + side, x0 : x0 + side] = 0.5
    return np.ascontiguousarray(np.round(crop * 255).astype(np.uint8))


def make_clip(
    path: Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    rate: Fraction = Fraction(24),
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: str | None = "aac",
    rotation: int = 0,
    sample_aspect_ratio: Fraction | None = None,
    codec: str = "libx264",
    seed: int = 0,
) -> list[npt.NDArray[np.uint8]]:
    """Write a clip and return its frames as RGB uint8 arrays (before lossy coding).

    ``pts`` (in ``time_base``) makes a variable-frame-rate clip; by default frame i is at i / rate.
    """
    width, height = size
    base = texture(width + 32, height + 32, seed)
    images = [frame_at(i, width, height, base) for i in range(frames)]
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=rate)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p" if codec != "gif" else "rgb8"
    if codec == "libx264":
        stream.options = {"crf": "12", "preset": "ultrafast"}
    tb = time_base or Fraction(1, 1) / rate
    stream.time_base = tb
    stream.codec_context.time_base = tb
    if rotation:
        stream.set_display_rotation(rotation)
    if sample_aspect_ratio is not None:
        stream.codec_context.sample_aspect_ratio = sample_aspect_ratio
    audio_stream = None
    if audio is not None:
        audio_stream = container.add_stream(audio, rate=48000)
        audio_stream.layout = "mono"
    for index, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts[index] if pts is not None else round(index / rate / tb)
        frame.time_base = tb
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    if audio_stream is not None:
        seconds = frames / float(rate) if pts is None else float((pts[-1] + 1) * tb)
        _write_sine(container, audio_stream, seconds)
    container.close()
    return images


def _write_sine(
    container: av.container.OutputContainer, stream: av.audio.AudioStream, seconds: float
) -> None:
    rate = 48000
    samples = int(seconds * rate)
    t = np.arange(samples) / rate
    wave = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
    chunk = 1024
    for start in range(0, samples, chunk):
        piece = wave[start : start + chunk]
        frame = av.AudioFrame.from_ndarray(piece[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


class FlickerPainter:
    """A deterministic stand-in for a per-frame painter that flickers as independent painting does: it
    inverts the colours and adds grain fixed to the screen, different for every frame (seeded by the
    frame's content). ``calls`` counts the frames painted; ``delay`` slows each one down."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0

    def __call__(self, frame: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        import time
        import zlib

        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        rng = np.random.default_rng(zlib.crc32(np.round(frame * 255).astype(np.uint8).tobytes()))
        grain = rng.normal(0.0, 0.08, (*frame.shape[:2], 1))
        return np.clip(1.0 - 0.8 * frame + grain, 0.0, 1.0).astype(np.float32)


def make_editor_clip(
    path: Path, *, frames: int = 6, size: tuple[int, int] = (96, 64), timecode: str = "01:00:00:00"
) -> list[npt.NDArray[np.uint16]]:
    """A clip as an editor exports it: ProRes 422 HQ, 10-bit 4:2:2, BT.709 tags (limited range), a
    start timecode and PCM audio, at 24 fps. The picture is a smooth ramp (more levels than 8 bits
    hold) panned a pixel a frame. Returns the frames as 16-bit RGB."""
    width, height = size
    x = np.linspace(0.05, 0.95, width + frames, dtype=np.float64)
    y = np.linspace(0.2, 0.8, height, dtype=np.float64)[:, None]
    images = []
    for index in range(frames):
        ramp = np.broadcast_to(x[index : index + width][None, :], (height, width))
        rgb = np.stack([ramp, 0.5 * ramp + 0.5 * y, np.broadcast_to(y, (height, width))], axis=-1)
        images.append(np.round(rgb * 65535).astype(np.uint16))
    container = av.open(str(path), "w")
    container.metadata["timecode"] = timecode
    container.metadata["comment"] = "reel A001"
    stream = container.add_stream("prores_ks", rate=24)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv422p10le"
    stream.options = {"profile": "hq"}
    for target in (stream.codec_context,):
        target.color_primaries, target.color_trc, target.colorspace, target.color_range = 1, 1, 1, 1
    audio = container.add_stream("pcm_s16le", rate=48000)
    audio.layout = "stereo"
    for index, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb48le")
        frame = frame.reformat(format="yuv422p10le", dst_colorspace=1, dst_color_range=1)
        frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range = 1, 1, 1, 1
        frame.pts = index
        frame.time_base = Fraction(1, 24)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    samples = frames * 2000
    wave = (3000 * np.sin(2 * math.pi * 440 * np.arange(samples) / 48000)).astype(np.int16)
    for start in range(0, samples, 1000):
        piece = np.repeat(wave[start : start + 1000][None, :], 2, axis=0).T.reshape(1, -1)
        sound = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece), format="s16", layout="stereo")
        sound.sample_rate = 48000
        sound.pts = start
        container.mux(audio.encode(sound))
    container.mux(audio.encode(None))
    container.close()
    return images
