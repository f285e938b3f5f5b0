"""The objective (content + style + smoothness) and the optimizer loop at one scale of the pyramid.

Images inside this module live in the network's input space (Caffe: BGR, 0–255, mean removed),
as tensors of shape (1, 3, H, W).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from brushwork.config import Settings
from brushwork.device import autocast
from brushwork.engines.optimize import losses
from brushwork.features.vgg import VGG19Features, from_caffe

# TV is measured on pixel differences, which shrink as the resolution grows; scaling by
# (long side / this)^2 keeps its weight meaning the same at every scale of the pyramid.
TV_REFERENCE_SIZE = 512

# L-BFGS's first step at each scale moves every value by this many grey levels (0–255) on average
# (0: torch's own first step and schedule, as before 2026-12; see run_stage).
FIRST_STEP = 2.0


def default_style_layer_weights(settings: Settings) -> tuple[float, ...]:
    if settings.style_layer_weights is not None:
        return settings.style_layer_weights
    return tuple(1.0 for _ in settings.style_layers)


def relative_norm(settings: Settings, target: torch.Tensor) -> float:
    """Divide a term by its target's mean square, making it a relative error (if enabled)."""
    if not settings.normalize_losses:
        return 1.0
    return max(float(target.pow(2).mean()), 1e-12)


def style_norms(settings: Settings, style: StyleStats) -> dict[str, float]:
    """Per style layer, what its term is divided by (see :func:`relative_norm`)."""
    if settings.style_loss == "gram":
        return {k: relative_norm(settings, v) for k, v in style.gram.items()}
    return {
        k: relative_norm(settings, style.mean[k]) + relative_norm(settings, style.covariance[k])
        for k in style.mean
    }


class Evaluator(Protocol):
    def evaluate(
        self, image: torch.Tensor, scale: float, on_tile: Callable[[int, int], None] | None = None
    ) -> dict[str, float]: ...


@dataclass(frozen=True)
class StyleStats:
    """Per-layer style statistics: a Gram matrix, or a mean and a covariance."""

    gram: dict[str, torch.Tensor]
    mean: dict[str, torch.Tensor]
    covariance: dict[str, torch.Tensor]


# An extra term of the objective (e.g. video's temporal loss): image (Caffe space) → scalar tensor.
ExtraLoss = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Region:
    """A part of the picture painted after its own style statistics: ``mask`` (1, 1, H, W) in [0, 1]
    at the stage's size weighs each position (guided statistics, Gatys et al. 2017)."""

    mask: torch.Tensor
    style: StyleStats


def style_statistics(
    net: VGG19Features,
    images: Sequence[torch.Tensor],
    blend: Sequence[float],
    settings: Settings,
    dtype: torch.dtype,
) -> StyleStats:
    """Blend the statistics of several style images; for squared-error losses, matching the
    blended statistics has the same minimiser as the blend of the separate losses."""
    total = sum(blend)
    gram: dict[str, torch.Tensor] = {}
    mean: dict[str, torch.Tensor] = {}
    cov: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for image, weight in zip(images, blend, strict=True):
            if not weight:
                continue
            with autocast(image.device, dtype):
                feats = net(image)
            share = weight / total
            for layer in settings.style_layers:
                f = feats[layer]
                if settings.style_loss == "gram":
                    gram[layer] = gram.get(layer, 0) + share * losses.gram_matrix(f)
                else:
                    m, c = losses.mean_covariance(f)
                    mean[layer] = mean.get(layer, 0) + share * m
                    cov[layer] = cov.get(layer, 0) + share * c
    return StyleStats(gram, mean, cov)


class Objective:
    """Loss of an image against content features and style statistics fixed at construction."""

    def __init__(
        self,
        net: VGG19Features,
        settings: Settings,
        content: torch.Tensor,
        style: StyleStats,
        dtype: torch.dtype,
        memory_format: torch.memory_format = torch.contiguous_format,
        regions: Sequence[Region] = (),
        extra_loss: ExtraLoss | None = None,
    ) -> None:
        """``regions``: when given, the style term is the sum of each region's guided term against
        its own statistics (``style`` is then unused). ``extra_loss`` is added to the total (reported
        as ``extra``): a function of the image being optimised (Caffe space, this scale's size)."""
        self.extra_loss = extra_loss
        self.net = net
        self.memory_format = memory_format
        self.settings = settings
        self.dtype = dtype
        self.style = style
        self.regions = list(regions)
        self.region_norms = [style_norms(settings, region.style) for region in self.regions]
        with torch.no_grad(), autocast(content.device, dtype):
            feats = net(content)
        self.content = {layer: feats[layer].float() for layer in settings.content_layers}
        self.layer_weights = dict(
            zip(settings.style_layers, default_style_layer_weights(settings), strict=True)
        )
        self.tv_scale = (max(content.shape[-2:]) / TV_REFERENCE_SIZE) ** 2
        self.content_norm = {k: relative_norm(settings, v) for k, v in self.content.items()}
        self.style_norm = style_norms(settings, style)

    def evaluate(
        self, image: torch.Tensor, scale: float, on_tile: Callable[[int, int], None] | None = None
    ) -> dict[str, float]:
        """Loss terms of ``image`` (a leaf); sets ``image.grad`` to the gradient of ``scale`` × the total."""
        image.grad = None
        total, parts = self(image)
        (total * scale).backward()
        return _floats(total, parts)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        s = self.settings
        with autocast(image.device, self.dtype):
            feats = self.net(image.contiguous(memory_format=self.memory_format))
        content = image.new_zeros((), dtype=torch.float32)
        for layer, target in self.content.items():
            content = content + losses.content_loss(feats[layer], target) / self.content_norm[layer]
        style = image.new_zeros((), dtype=torch.float32)
        if self.regions:
            for region, norms in zip(self.regions, self.region_norms, strict=True):
                style = style + self._guided_style(feats, region, norms)
        for layer, weight in self.layer_weights.items() if not self.regions else ():
            if s.style_loss == "gram":
                term = losses.gram_loss(feats[layer], self.style.gram[layer])
            else:
                term = losses.mean_covariance_loss(
                    feats[layer], self.style.mean[layer], self.style.covariance[layer]
                )
            style = style + weight * term / self.style_norm[layer]
        tv = losses.total_variation(from_caffe(image)) * self.tv_scale
        content_weight, style_weight = s.loss_weights
        parts = {
            "content": content_weight * content,
            "style": style_weight * style,
            "tv": s.tv_weight * tv,
        }
        if self.extra_loss is not None:
            parts["extra"] = self.extra_loss(image).float()
        return sum(parts.values(), image.new_zeros((), dtype=torch.float32)), parts

    def _guided_style(
        self, feats: dict[str, torch.Tensor], region: Region, norms: dict[str, float]
    ) -> torch.Tensor:
        total = region.mask.new_zeros((), dtype=torch.float32)
        for layer, weight in self.layer_weights.items():
            f = feats[layer]
            mask = F.interpolate(region.mask, size=f.shape[-2:], mode="area")
            if self.settings.style_loss == "gram":
                term = (losses.guided_gram_matrix(f, mask) - region.style.gram[layer]).pow(2).mean()
            else:
                mean, covariance = losses.guided_mean_covariance(f, mask)
                term = (mean - region.style.mean[layer]).pow(2).mean()
                term = term + (covariance - region.style.covariance[layer]).pow(2).mean()
            total = total + weight * term / norms[layer]
        return total


StepHook = Callable[[torch.Tensor, dict[str, float]], None]


def run_stage(
    image: torch.Tensor,
    objective: Evaluator,
    steps: int,
    settings: Settings,
    on_step: StepHook,
    *,
    history: int = 100,
    on_tile: Callable[[torch.Tensor, int, int], None] | None = None,
) -> torch.Tensor:
    """Optimise ``image`` for ``steps`` loss evaluations; returns the optimised image (detached).

    ``history`` is L-BFGS's number of curvature pairs (memory: two image-sized vectors each);
    ``on_tile`` hears about each tile of an evaluation when the objective works in tiles.
    """
    x = image.detach().clone().requires_grad_(True)
    tile_hook = None if on_tile is None else (lambda done, tiles: on_tile(x.detach(), done, tiles))
    if settings.optimizer == "adam":
        adam = torch.optim.Adam([x], lr=settings.learning_rate)
        for _ in range(steps):
            values = objective.evaluate(x, 1.0, tile_hook)
            adam.step()
            on_step(x.detach(), values)
        return x.detach()

    # L-BFGS skips curvature pairs with y·s below an absolute 1e-10, and its first step moves the
    # pixels by at most 1 in L1 norm; on a per-pixel mean loss both stall it. Summing over positions
    # (as Gatys et al. do) instead of averaging gives it a well-scaled problem with the same minimiser.
    positions = x.shape[-1] * x.shape[-2]

    def closure() -> torch.Tensor:
        values = objective.evaluate(x, positions, tile_hook)
        on_step(x.detach(), values)
        return torch.tensor(values["total"] * positions)

    # torch's first step is lr / ‖g‖₁ along −g: with lr 1 the whole picture moves by one grey level in
    # all, and every scale of the pyramid restarts L-BFGS, so that evaluation would be wasted. This lr
    # moves each value by FIRST_STEP grey levels on average; later steps use the curvature as usual.
    # One iteration a call (the state carries over), so that every evaluation is followed by a step.
    # FIRST_STEP 0: torch's own schedule in one call, whose last evaluation's gradient goes unused.
    iterations = 1 if FIRST_STEP else steps
    lbfgs = torch.optim.LBFGS(
        [x],
        lr=FIRST_STEP * x.numel() if FIRST_STEP else 1.0,
        max_iter=iterations,
        max_eval=iterations,
        history_size=history,
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    for call in range(steps // iterations):
        lbfgs.step(closure)
        if call == 0:
            lbfgs.param_groups[0]["lr"] = 1.0
    return x.detach()


def _floats(total: torch.Tensor, parts: dict[str, torch.Tensor]) -> dict[str, float]:
    values = {name: float(value.detach()) for name, value in parts.items()}
    values["total"] = float(total.detach())
    return values


def resize_caffe(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize an image tensor to (width, height), antialiased when shrinking."""
    width, height = size
    if image.shape[-2:] == (height, width):
        return image
    return F.interpolate(image, size=(height, width), mode="bicubic", align_corners=False, antialias=True)
