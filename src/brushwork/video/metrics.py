"""Flicker, measured: the warping error between consecutive frames (Lai et al., *Learning Blind Video
Temporal Consistency*, 2018), with the optical flow and the occlusion mask taken from the *input*
frames, so that the same motion is asked of every result.

``warping_error`` = mean over t ≥ 1 of  Σ M_t(x) ‖O_t(x) − O_{t−1}(x + F_t(x))‖² / Σ M_t(x), with O in
[0, 1] RGB (the squared norm sums the three channels), F_t the backward flow of input frame t and M_t
its forward–backward-consistent, off-motion-boundary pixels. **Lower is steadier.** The input's own
warping error is the floor a result can reach; a result can also get steadier by losing its style, so
:func:`evaluate_video` reports the style distance beside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from brushwork.errors import UserInputError
from brushwork.video.flow import FlowEstimator, frame_pair, warp
from brushwork.video.io import RGB8, Window, probe, read_frames

# The metric measures with DIS's medium preset, finer than the fast one the painting uses, so a
# change to the painting's flow cannot move the yardstick.
MEASURING_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM


def _float(image: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.asarray(image, dtype=np.float32)


@dataclass
class WarpingError:
    """Accumulates the warping error of one or more frame sequences over the same input frames."""

    sums: list[float]
    pairs: int = 0

    @classmethod
    def of(cls, sequences: int) -> WarpingError:
        return cls(sums=[0.0] * sequences)

    def add(self, mask: npt.NDArray[np.bool_], backward: npt.NDArray[np.float32],
            previous: Sequence[npt.NDArray[Any]], current: Sequence[npt.NDArray[Any]]) -> None:  # fmt: skip
        weight = mask.astype(np.float32)
        count = float(weight.sum())
        for index, (before, now) in enumerate(zip(previous, current, strict=True)):
            moved = warp(_float(before), backward)
            squared = np.sum((_float(now) - moved) ** 2, axis=-1)
            self.sums[index] += float((squared * weight).sum() / max(count, 1.0))
        self.pairs += 1

    def values(self) -> list[float]:
        return [total / self.pairs if self.pairs else 0.0 for total in self.sums]


def warping_error(outputs: Iterable[npt.NDArray[Any]], inputs: Iterable[npt.NDArray[Any]]) -> float:
    """The warping error of the frame sequence ``outputs`` (see the module documentation), with flow
    and occlusions from ``inputs`` (resized to the outputs' size when they differ)."""
    flow = FlowEstimator(MEASURING_PRESET)
    total = WarpingError.of(1)
    previous: tuple[RGB8, npt.NDArray[Any]] | None = None
    for output, source in zip(outputs, inputs, strict=True):
        current = _as_uint8(_resized(source, output.shape[1::-1]))
        if previous is not None:
            pair = frame_pair(flow, previous[0], current)
            total.add(pair.reliable, pair.backward, [previous[1]], [output])
        previous = (current, output)
    return total.values()[0]


def _as_uint8(image: npt.NDArray[Any]) -> RGB8:
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(np.asarray(image, np.float32) * 255), 0, 255).astype(np.uint8)


def _resized(image: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    if image.shape[1::-1] == tuple(size):
        return image
    return cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class VideoEvaluation:
    frames: int
    size: tuple[int, int]
    warping_error: float  # of the output; lower is steadier
    input_warping_error: float  # of the input itself: the floor
    style_gram: float  # mean over the sampled frames; lower is more like the painting(s)
    style_meancov: float
    content_error: float  # mean over the sampled frames; lower is closer to the input frame
    sampled: tuple[int, ...]  # frame indices the style and content numbers come from

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "size": list(self.size),
            "warping_error": _round(self.warping_error),
            "input_warping_error": _round(self.input_warping_error),
            "style_gram": _round(self.style_gram),
            "style_meancov": _round(self.style_meancov),
            "content_error": _round(self.content_error),
            "sampled": list(self.sampled),
        }


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def output_frames(path: str | os.PathLike[str]) -> Iterator[RGB8]:
    """The frames of a video file, or of a folder of PNG frames (in name order)."""
    if os.path.isdir(path):
        files = sorted(Path(path).glob("*.png"))
        if not files:
            raise UserInputError(f"cannot read {os.fspath(path)!r}: no PNG frames in the folder")
        for file in files:
            with Image.open(file) as image:
                yield np.asarray(image.convert("RGB"), dtype=np.uint8)
        return
    for frame in read_frames(path):
        yield frame.rgb


def evaluate_video(
    output: str | os.PathLike[str],
    video: str | os.PathLike[str],
    styles: Sequence[Any],
    *,
    start: float = 0.0,
    duration: float | None = None,
    samples: int = 4,
    blend: Sequence[float] | None = None,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
) -> VideoEvaluation:
    """Measure a painted ``output`` against the ``video`` it was made from (``start``/``duration`` as
    it was painted): the warping error of both, and the style and content numbers of
    :func:`brushwork.evaluate.evaluate` averaged over ``samples`` evenly spaced frames."""
    from brushwork.evaluate import evaluate

    if samples < 1:
        raise UserInputError(f"samples must be at least 1, got {samples}")
    window = Window(start, duration)
    expected = probe(video).expected_frames(window) or samples
    wanted = {round(i * (expected - 1) / max(samples - 1, 1)) for i in range(samples)} if samples > 1 else {0}
    flow = FlowEstimator(MEASURING_PRESET)
    total = WarpingError.of(2)
    previous: tuple[RGB8, RGB8] | None = None
    picked: list[tuple[int, RGB8, RGB8]] = []
    count = 0
    size = (0, 0)
    outputs = output_frames(output)
    for frame in read_frames(video, window):
        painted = next(outputs, None)
        if painted is None:
            raise UserInputError(f"{os.fspath(output)!r} has fewer frames than {os.fspath(video)!r}")
        size = (painted.shape[1], painted.shape[0])
        current = _as_uint8(_resized(frame.rgb, size))
        if previous is not None:
            pair = frame_pair(flow, previous[0], current)
            total.add(pair.reliable, pair.backward, [previous[1], previous[0]], [painted, current])
        if count in wanted:
            picked.append((count, current, painted))
        previous = (current, painted)
        count += 1
    if next(outputs, None) is not None:
        raise UserInputError(f"{os.fspath(output)!r} has more frames than {os.fspath(video)!r}")
    if count == 0:
        raise UserInputError(f"cannot read {os.fspath(video)!r}: no frames in the part asked for")
    scores = [evaluate(source, styles, painted, blend=blend, weights=weights, device=device)
              for _, source, painted in picked]  # fmt: skip
    output_error, input_error = total.values()
    return VideoEvaluation(
        frames=count,
        size=size,
        warping_error=output_error,
        input_warping_error=input_error,
        style_gram=float(np.mean([s.style_gram for s in scores])) if scores else float("nan"),
        style_meancov=float(np.mean([s.style_meancov for s in scores])) if scores else float("nan"),
        content_error=float(np.mean([s.content_error for s in scores])) if scores else float("nan"),
        sampled=tuple(index for index, _, _ in picked),
    )
