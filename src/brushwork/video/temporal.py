"""Temporal consistency: flow-guided blending for per-frame (fast) painting, and the temporal loss for the
optimizer (Ruder et al. 2016).

How the blending avoids ghosting: the previous painted frame, moved along the flow, is only blended in
where it can be trusted — pixels that pass the forward–backward check (not disoccluded), lie off motion
boundaries, *and* whose warped previous input matches the current input (so flow failures, lighting
changes and things passing in front are left to the fresh frame). That mask is eroded and feathered so
that no hard seam appears, the blend weight stays below one so that anything carried along fades
geometrically (0.75ᵏ: under 1 % after sixteen frames), and a scene cut (few trustworthy pixels) starts
afresh. The previous output is moved bicubically (bilinear sampling, repeated frame after frame, blurs
it), and the fine detail the blend averages away is restored (see :func:`restored_detail`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch

from brushwork.video.flow import Flow, FlowEstimator, FramePair, frame_pair, warp

FloatArray = npt.NDArray[np.float32]

DEFAULT_BLEND = 0.75
# the warped previous input may differ from the current one by this much (mean over RGB, 0–1, averaged
# over a pixel's neighbourhood so that single noisy pixels do not speckle the mask) and still count as
# the same surface
PHOTOMETRIC_TOLERANCE = 0.08
PHOTOMETRIC_SIGMA = 1.0
# a frame where fewer pixels than this can be followed from the previous one starts a new shot
SCENE_CUT_SHARE = 0.4
# The share of each side at which the blending's flow and trust mask are worked out (then scaled up).
# Half size costs a third of full size's time but flickers 8 % more (BENCHMARKS.md §13): full size.
FLOW_SCALE = 1.0


def _float(image: npt.NDArray[Any]) -> FloatArray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.asarray(image, dtype=np.float32)


_MEAN_OF_CHANNELS = np.full((1, 3), 1 / 3, dtype=np.float32)


def trusted_mask(
    pair: FramePair, previous_input: npt.NDArray[Any], current_input: npt.NDArray[Any]
) -> FloatArray:
    """1 where the previous frame, moved by the flow, shows the same thing as the current one; else 0."""
    moved = warp(_float(previous_input), pair.backward)
    difference = cv2.transform(cv2.absdiff(moved, _float(current_input)), _MEAN_OF_CHANNELS)
    difference = difference.reshape(moved.shape[:2])
    matches = cv2.GaussianBlur(difference, (0, 0), PHOTOMETRIC_SIGMA) <= PHOTOMETRIC_TOLERANCE
    return np.asarray(pair.reliable & matches, dtype=np.float32)


def is_scene_cut(trusted: FloatArray) -> bool:
    return float(trusted.mean()) < SCENE_CUT_SHARE


def feathered(mask: FloatArray) -> FloatArray:
    """The mask shrunk by a pixel and softened, so that blended and fresh regions meet without a seam."""
    eroded = cv2.erode(mask, np.ones((3, 3), np.uint8))
    return np.asarray(cv2.GaussianBlur(eroded, (5, 5), 1.0), dtype=np.float32)


@dataclass(frozen=True)
class Carry:
    """How the previous output is carried onto the current frame: the backward flow and the feathered
    trust weight (0 to 1), both at the frame's full size."""

    backward: Flow
    trust: FloatArray


def shrunk(image: npt.NDArray[Any], scale: float) -> npt.NDArray[np.uint8]:
    """``image`` as 8-bit RGB, each side times ``scale`` (at least 8 pixels): what the blending's flow
    sees."""
    if image.dtype != np.uint8:
        image = np.clip(np.round(_float(image) * 255), 0, 255).astype(np.uint8)
    if scale >= 1:
        return np.ascontiguousarray(image)
    height, width = image.shape[:2]
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def carry(
    flow: FlowEstimator,
    previous_input: npt.NDArray[Any],
    current_input: npt.NDArray[Any],
    scale: float = FLOW_SCALE,
) -> Carry | None:
    """The :class:`Carry` from the previous input frame to the current one, worked out on frames shrunk
    by ``scale`` and scaled back up; None at a scene cut (too little can be followed)."""
    previous, current = shrunk(previous_input, scale), shrunk(current_input, scale)
    pair = frame_pair(flow, previous, current)
    trusted = trusted_mask(pair, previous, current)
    if is_scene_cut(trusted):
        return None
    height, width = current_input.shape[:2]
    trust = feathered(trusted)
    small = pair.backward
    if (small.shape[1], small.shape[0]) == (width, height):
        return Carry(backward=small, trust=trust)
    factors = np.array([width / small.shape[1], height / small.shape[0]], dtype=np.float32)
    backward = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) * factors
    full_trust = cv2.resize(trust, (width, height), interpolation=cv2.INTER_LINEAR)
    return Carry(backward=np.asarray(backward, np.float32), trust=np.asarray(full_trust, np.float32))


# Blending two paintings whose brush strokes do not line up (the fresh one and the one carried along the
# flow) averages their strokes away: fine texture fades and the clip looks smeared, most where things
# move fast. The blend's detail (what a Gaussian of DETAIL_SIGMA pixels leaves out) is therefore scaled
# back up to the local strength of the fresh painting's detail (measured over ENERGY_SIGMA pixels), by at
# most MAX_DETAIL_GAIN. Where the two agree (a still scene) the blend keeps the fresh detail's strength
# already and nothing changes. BENCHMARKS.md §8 measures the style distance and flicker it trades.
DETAIL_SIGMA = 1.0
ENERGY_SIGMA = 4.0
MAX_DETAIL_GAIN = 2.0


_SUM_OF_CHANNELS = np.ones((1, 3), dtype=np.float32)


def _detail_energy(image: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(the image's detail, its local energy: the blurred sum of squares over the channels)."""
    detail = np.asarray(cv2.subtract(image, cv2.GaussianBlur(image, (0, 0), DETAIL_SIGMA)), np.float32)
    energy = cv2.transform(cv2.multiply(detail, detail), _SUM_OF_CHANNELS).reshape(image.shape[:2])
    return detail, np.asarray(cv2.GaussianBlur(energy, (0, 0), ENERGY_SIGMA), np.float32)


def restored_detail(blended: FloatArray, fresh: FloatArray, max_gain: float = MAX_DETAIL_GAIN) -> FloatArray:
    """``blended`` with its fine detail scaled back up, locally, to the strength of ``fresh``'s (in
    place)."""
    detail, energy = _detail_energy(blended)
    _, fresh_energy = _detail_energy(fresh)
    fresh_energy += 1e-6
    energy += 1e-6
    gain = np.asarray(cv2.sqrt(cv2.divide(fresh_energy, energy)), np.float32)
    np.clip(gain, 1.0, max_gain, out=gain)
    detail *= gain[..., None] - np.float32(1.0)
    blended += detail
    return blended


@dataclass(frozen=True)
class Stabilizer:
    """Blends each freshly painted frame with the previous output moved along the flow, then restores
    the fine detail that averaging two paintings takes away (see :func:`restored_detail`)."""

    blend: float = DEFAULT_BLEND  # 0: independent frames; towards 1: steadier, slower to follow changes
    max_gain: float = MAX_DETAIL_GAIN  # 1: no restoring

    def __post_init__(self) -> None:
        if not 0 <= self.blend < 1:
            raise ValueError(f"blend must be in [0, 1), got {self.blend}")
        if self.max_gain < 1:
            raise ValueError(f"max_gain must be at least 1, got {self.max_gain}")

    def __call__(
        self, painted: npt.NDArray[Any], moved: Carry | None, previous_output: npt.NDArray[Any] | None
    ) -> tuple[FloatArray, bool]:
        """(the frame to keep, whether this frame started afresh: the first one, or a scene cut)."""
        fresh = _float(painted)
        if self.blend == 0 or moved is None or previous_output is None:
            return fresh, True
        weight = self.blend * moved.trust
        carried = warp(_float(previous_output), moved.backward, cubic=True)
        blended = np.asarray(cv2.blendLinear(fresh, carried, 1.0 - weight, weight), np.float32)
        if self.max_gain > 1:
            blended = restored_detail(blended, fresh, self.max_gain)
        return np.clip(blended, 0.0, 1.0, out=blended), False


def start_image(
    pair: FramePair, trusted: FloatArray, previous_output: npt.NDArray[Any], fill: npt.NDArray[Any]
) -> FloatArray:
    """Where the optimizer starts a frame: the previous painted frame moved along the flow, and ``fill``
    (the photo, or a fast painting of it) where it cannot be trusted (see :func:`trusted_mask`)."""
    mask = feathered(trusted)[..., None]
    carried = warp(_float(previous_output), pair.backward)
    return np.clip(mask * carried + (1 - mask) * _float(fill), 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------ optimizer method


def temporal_loss(image: torch.Tensor, warped: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean squared difference between ``image`` and the previous output ``warped`` onto it.

    ``image`` and ``warped`` are (N, C, H, W); ``mask`` is (N, 1, H, W), (H, W) or broadcastable, with 1
    where the warped frame is trusted and 0 where it is not (occlusions, motion boundaries). The mean
    is over the masked pixels and the channels, so the value does not depend on how much is masked.
    """
    if mask.ndim == 2:
        mask = mask[None, None]
    mask = mask.to(image)
    squared = (image - warped.to(image)).pow(2) * mask
    count = mask.expand_as(image).sum().clamp(min=1.0)
    return squared.sum() / count


# Weight of the temporal term against the (relative, order-one) content and style terms, in RGB 0–1
# units: a frame 0.1 away from the warped previous output everywhere costs 1.
TEMPORAL_WEIGHT = 100.0
LONG_RANGE = 10  # frames back for the term against slow drift
LONG_RANGE_SHARE = 0.3  # its weight, relative to the short-range term


@dataclass(frozen=True)
class TemporalTerm:
    """The extra loss the optimizer adds to its objective for a frame after the first: the short-range
    term against the previous output and a weaker long-range one against an older output (against slow
    drift). Targets are RGB in [0, 1]; ``convert`` maps the optimizer's image to RGB first (e.g.
    :func:`brushwork.features.from_caffe`). ``__call__`` returns a scalar tensor, at any scale."""

    warped: torch.Tensor  # previous output moved onto this frame, (1, 3, H, W)
    mask: torch.Tensor  # (1, 1, H, W) in [0, 1]
    weight: float
    long_warped: torch.Tensor | None = None  # e.g. the output 10 frames back, moved onto this frame
    long_mask: torch.Tensor | None = None
    long_weight: float = 0.0
    convert: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.convert is not None:
            image = self.convert(image)
        warped, mask = _resized(self.warped, self.mask, image)
        loss = self.weight * temporal_loss(image, warped, mask)
        if self.long_warped is not None and self.long_mask is not None and self.long_weight:
            long_warped, long_mask = _resized(self.long_warped, self.long_mask, image)
            loss = loss + self.long_weight * temporal_loss(image, long_warped, long_mask)
        return loss


def _resized(
    warped: torch.Tensor, mask: torch.Tensor, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets at the size of the image being optimized (a scale of the pyramid, or a tile's size)."""
    size = like.shape[-2:]
    if warped.shape[-2:] == size:
        return warped, mask
    resize = torch.nn.functional.interpolate
    return (
        resize(warped, size=tuple(size), mode="bilinear", align_corners=False),
        resize(mask, size=tuple(size), mode="bilinear", align_corners=False),
    )


def _tensor(image: npt.NDArray[Any]) -> torch.Tensor:
    array = np.ascontiguousarray(_float(image))
    if array.ndim == 2:
        return torch.from_numpy(array)[None, None]
    return torch.from_numpy(array).permute(2, 0, 1)[None]


def temporal_term(
    previous_output: npt.NDArray[Any],
    previous_pair: FramePair,
    previous_trusted: FloatArray,
    older: tuple[npt.NDArray[Any], FramePair, FloatArray] | None = None,
    *,
    weight: float = TEMPORAL_WEIGHT,
    convert: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> TemporalTerm:
    """The :class:`TemporalTerm` for a frame: the previous output moved onto it by ``previous_pair``'s
    backward flow, trusted where ``previous_trusted`` says; ``older`` the same for an output
    LONG_RANGE frames back (flow straight from that frame), at a lower weight: it holds the picture
    where chains of short warps would slowly blur or drift."""
    warped = _tensor(warp(_float(previous_output), previous_pair.backward))
    mask = _tensor(previous_trusted)
    long_warped = long_mask = None
    if older is not None:
        output, pair, trusted = older
        long_warped = _tensor(warp(_float(output), pair.backward))
        long_mask = _tensor(trusted)
    return TemporalTerm(
        warped=warped,
        mask=mask,
        weight=weight,
        long_warped=long_warped,
        long_mask=long_mask,
        long_weight=weight * LONG_RANGE_SHARE,
        convert=convert,
    )
