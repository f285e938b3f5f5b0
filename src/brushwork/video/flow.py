"""Optical flow between input frames (OpenCV's DIS), warping by a flow, and the masks of where a flow
can be trusted (forward–backward consistency and motion boundaries, after Sundaram et al. 2010 and
Ruder et al. 2016).

Conventions: frames are (H, W, 3) arrays; a flow is (H, W, 2) float32 in pixels, (dx, dy). The
*backward* flow of frame t says, for each pixel x of frame t, where it was in frame t-1: frame t at x
≈ frame t-1 at x + flow(x). ``warp(previous, backward)`` therefore moves frame t-1 onto frame t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

FloatArray = npt.NDArray[np.float32]
Flow = npt.NDArray[np.float32]

# Forward–backward consistency: a pixel is occluded (or the flow wrong) when going there and back misses
# by more than this share of the motion, plus a pixel offset (Sundaram et al.'s 0.01 and 0.5).
CONSISTENCY_RELATIVE = 0.01
CONSISTENCY_ABSOLUTE = 0.5
# Motion boundaries: where the flow's gradient is large against the motion itself.
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002


def _gray(image: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    if image.dtype != np.uint8:
        image = np.clip(np.round(np.asarray(image, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    if image.ndim == 3:
        return np.ascontiguousarray(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY))
    return np.ascontiguousarray(image)


class FlowEstimator:
    """DIS optical flow (Kroeger et al. 2016), OpenCV's fast preset; deterministic, nothing downloaded.

    The fast preset computes both directions for a 640 × 360 frame in 9 ms against the medium
    preset's 40 ms (on the 2-core benchmark machine); BENCHMARKS.md §9 compares the flicker."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> None:
        self._dis = cv2.DISOpticalFlow.create(preset)

    def __call__(self, source: npt.NDArray[Any], target: npt.NDArray[Any]) -> Flow:
        """For each pixel x of ``source``, where it is in ``target``: source(x) ≈ target(x + flow(x))."""
        flow = self._dis.calc(_gray(source), _gray(target), None)  # type: ignore[call-overload]
        return np.asarray(flow, dtype=np.float32)


def warp(image: npt.NDArray[Any], flow: Flow, *, cubic: bool = False) -> FloatArray:
    """``image`` sampled at x + flow(x) (bilinear, or bicubic: sharper where a picture is carried along
    frame after frame; borders repeat the edge)."""
    height, width = flow.shape[:2]
    map_x = flow[..., 0] + np.arange(width, dtype=np.float32)[None, :]
    map_y = flow[..., 1] + np.arange(height, dtype=np.float32)[:, None]
    source = np.asarray(image, dtype=np.float32)
    warped = cv2.remap(
        source,
        map_x,
        map_y,
        interpolation=cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(warped, dtype=np.float32)


def warp_torch(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """:func:`warp` for (N, C, H, W) tensors with an (N, 2, H, W) or (H, W, 2) flow; differentiable."""
    if flow.ndim == 3:
        flow = flow.permute(2, 0, 1)[None]
    _, _, height, width = image.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=image.dtype, device=image.device),
        torch.arange(width, dtype=image.dtype, device=image.device),
        indexing="ij",
    )
    x = xs + flow[:, 0].to(image)
    y = ys + flow[:, 1].to(image)
    # grid_sample wants -1..1 with align_corners=True: pixel centres at the ends
    grid = torch.stack((2 * x / max(width - 1, 1) - 1, 2 * y / max(height - 1, 1) - 1), dim=-1)
    grid = grid.expand(image.shape[0], -1, -1, -1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def consistency_mask(backward: Flow, forward: Flow) -> npt.NDArray[np.bool_]:
    """True where following ``backward`` (t → t-1) and then ``forward`` (t-1 → t) comes back to the start:
    False for pixels of frame t that were hidden in frame t-1 (disocclusions) or whose flow is wrong."""
    forward_there = warp(forward, backward)
    round_trip = backward + forward_there
    miss = _squared_norm(round_trip)
    scale = _squared_norm(backward) + _squared_norm(forward_there)
    return np.asarray(miss <= CONSISTENCY_RELATIVE * scale + CONSISTENCY_ABSOLUTE)


def _squared_norm(flow: Flow) -> FloatArray:
    """dx² + dy² per pixel (channel by channel: numpy's sum over a last axis of 2 is slow)."""
    dx, dy = flow[..., 0], flow[..., 1]
    return np.asarray(dx * dx + dy * dy, dtype=np.float32)


def _gradients(channel: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``np.gradient(channel)`` as (d/dy, d/dx): central differences inside, one-sided at the edges;
    with OpenCV's filters, several times faster."""
    channel = np.ascontiguousarray(channel, dtype=np.float32)
    kernel = np.array([[-0.5, 0.0, 0.5]], dtype=np.float32)
    gx = cv2.filter2D(channel, cv2.CV_32F, kernel, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(channel, cv2.CV_32F, kernel.T, borderType=cv2.BORDER_REPLICATE)
    if channel.shape[1] > 1:
        gx[:, 0] = channel[:, 1] - channel[:, 0]
        gx[:, -1] = channel[:, -1] - channel[:, -2]
    if channel.shape[0] > 1:
        gy[0] = channel[1] - channel[0]
        gy[-1] = channel[-1] - channel[-2]
    return np.asarray(gy, np.float32), np.asarray(gx, np.float32)


def motion_boundary_mask(flow: Flow) -> npt.NDArray[np.bool_]:
    """True away from motion boundaries (where the flow changes sharply)."""
    gradient = np.zeros(flow.shape[:2], dtype=np.float32)
    for channel in range(2):
        gy, gx = _gradients(flow[..., channel])
        gradient += gx * gx + gy * gy
    return np.asarray(gradient <= BOUNDARY_RELATIVE * _squared_norm(flow) + BOUNDARY_ABSOLUTE)


@dataclass(frozen=True)
class FramePair:
    """The flow from frame t back to frame t-1 and where it can be trusted."""

    backward: Flow  # t → t-1
    forward: Flow  # t-1 → t
    reliable: npt.NDArray[np.bool_]  # consistent and not on a motion boundary

    @property
    def reliable_share(self) -> float:
        return float(self.reliable.mean())


def frame_pair(flow: FlowEstimator, previous: npt.NDArray[Any], current: npt.NDArray[Any]) -> FramePair:
    backward = flow(current, previous)
    forward = flow(previous, current)
    reliable = consistency_mask(backward, forward) & motion_boundary_mask(backward)
    return FramePair(backward=backward, forward=forward, reliable=reliable)
