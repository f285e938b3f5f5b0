"""Temporal consistency: flow-guided blending for per-frame (fast) painting, and the temporal loss for the
optimizer (Ruder et al. 2016).

How the blending avoids ghosting: the previous painted frame, moved along the flow, is only blended in
where it can be trusted — pixels that pass the forward–backward check (not disoccluded), lie off motion
boundaries, *and* whose warped previous input matches the current input (so flow failures, lighting
changes and things passing in front are left to the fresh frame). That mask is eroded and feathered so
that no hard seam appears, the blend weight stays below one so that anything carried along fades
geometrically (0.6ᵏ: under 1 % after nine frames), and a scene cut (few trustworthy pixels) starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch

from brushwork.video.flow import FramePair, warp

FloatArray = npt.NDArray[np.float32]

DEFAULT_BLEND = 0.6
# the warped previous input may differ from the current one by this much (mean over RGB, 0–1) and
# still count as the same surface
PHOTOMETRIC_TOLERANCE = 0.06
# a frame where fewer pixels than this can be followed from the previous one starts a new shot
SCENE_CUT_SHARE = 0.4


def _float(image: npt.NDArray[Any]) -> FloatArray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.asarray(image, dtype=np.float32)


def trusted_mask(
    pair: FramePair, previous_input: npt.NDArray[Any], current_input: npt.NDArray[Any]
) -> FloatArray:
    """1 where the previous frame, moved by the flow, shows the same thing as the current one; else 0."""
    moved = warp(_float(previous_input), pair.backward)
    matches = np.abs(moved - _float(current_input)).mean(axis=-1) <= PHOTOMETRIC_TOLERANCE
    return np.asarray(pair.reliable & matches, dtype=np.float32)


def is_scene_cut(trusted: FloatArray) -> bool:
    return float(trusted.mean()) < SCENE_CUT_SHARE


def feathered(mask: FloatArray) -> FloatArray:
    """The mask shrunk by a pixel and softened, so that blended and fresh regions meet without a seam."""
    eroded = cv2.erode(mask, np.ones((3, 3), np.uint8))
    return np.asarray(cv2.GaussianBlur(eroded, (5, 5), 1.0), dtype=np.float32)


@dataclass(frozen=True)
class Stabilizer:
    """Blends each freshly painted frame with the previous output moved along the flow."""

    blend: float = DEFAULT_BLEND  # 0: independent frames; towards 1: steadier, slower to follow changes

    def __post_init__(self) -> None:
        if not 0 <= self.blend < 1:
            raise ValueError(f"blend must be in [0, 1), got {self.blend}")

    def __call__(
        self,
        painted: npt.NDArray[Any],
        pair: FramePair | None,
        previous_input: npt.NDArray[Any] | None,
        current_input: npt.NDArray[Any],
        previous_output: npt.NDArray[Any] | None,
    ) -> tuple[FloatArray, bool]:
        """(the frame to keep, whether this frame started afresh: the first one, or a scene cut)."""
        fresh = _float(painted)
        if self.blend == 0 or pair is None or previous_input is None or previous_output is None:
            return fresh, True
        trusted = trusted_mask(pair, previous_input, current_input)
        if is_scene_cut(trusted):
            return fresh, True
        weight = (self.blend * feathered(trusted))[..., None]
        carried = warp(_float(previous_output), pair.backward)
        return np.clip(fresh + weight * (carried - fresh), 0.0, 1.0).astype(np.float32), False


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


@dataclass(frozen=True)
class TemporalTerm:
    """The extra loss the optimizer adds to its objective for a frame after the first: the short-range
    term against the previous output and a weaker long-range one against an older output (against slow
    drift). Targets are in the optimizer's image space; ``__call__`` returns a scalar tensor."""

    warped: torch.Tensor  # previous output moved onto this frame, (1, C, H, W)
    mask: torch.Tensor  # (1, 1, H, W) in [0, 1]
    weight: float
    long_warped: torch.Tensor | None = None  # e.g. the output 10 frames back, moved onto this frame
    long_mask: torch.Tensor | None = None
    long_weight: float = 0.0

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
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
