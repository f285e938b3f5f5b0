"""Tiled optimisation for images too large for one pass: whole-image losses in bounded memory.

Every loss term is a sum over feature positions of something that depends only on that position's
features and on whole-image statistics (Gram matrices, means, covariances). So one evaluation is:

1. a forward pass over the tiles, without gradients, that gathers the whole image's statistics and
   the loss value;
2. with the statistics fixed, the gradient of the whole-image loss with respect to the features at
   a position has a closed form (for a Gram loss, (2/N)·D·f with D = dL/dG), so each tile is run
   forward and backward on a surrogate whose gradient is exactly that, and its input gradient is
   added into the image's gradient.

Each tile is a core plus a halo at least as wide as the network's receptive field, cut on the
16-pixel pooling grid: features at core positions are then the same as in the whole image, each
position belongs to exactly one core, and the summed gradient equals the untiled one up to
rounding. There is nothing to blend and no seam to hide; tests/test_tiles.py checks both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from brushwork.config import Settings
from brushwork.device import autocast
from brushwork.engines.optimize.memory import TILE_ALIGN
from brushwork.engines.optimize.objective import (
    TV_REFERENCE_SIZE,
    StyleStats,
    default_style_layer_weights,
    relative_norm,
    style_norms,
)
from brushwork.features.vgg import VGG19Features, layer_stride

TileHook = Callable[[int, int], None]


@dataclass(frozen=True)
class Tile:
    """A core box (each pixel in exactly one core) and the padded box actually run, in pixels."""

    top: int
    left: int
    bottom: int
    right: int
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int

    def crop(self, image: torch.Tensor) -> torch.Tensor:
        return image[..., self.pad_top : self.pad_bottom, self.pad_left : self.pad_right]

    def core_in_tile(self, stride: int) -> tuple[slice, slice]:
        """The core's positions in this tile's feature map at ``stride``."""
        rows, cols = self.core_in_image(stride)
        top, left = self.pad_top // stride, self.pad_left // stride
        return slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left)

    def core_in_image(self, stride: int) -> tuple[slice, slice]:
        """The core's positions in the whole image's feature map at ``stride`` (ceil-mode pooling)."""
        return (
            slice(self.top // stride, -(-self.bottom // stride)),
            slice(self.left // stride, -(-self.right // stride)),
        )


def receptive_halo(layer_names: Sequence[str]) -> int:
    """Halo (in pixels, on the tile grid) that covers the receptive field of the deepest layer."""
    size, jump = 1, 1
    for name in layer_names:
        if name.startswith("conv"):
            size += 2 * jump
        elif name.startswith("pool"):
            size += jump
            jump *= 2
    return _round_up(size // 2 + jump, TILE_ALIGN)


def plan_tiles(height: int, width: int, core: int, halo: int) -> list[Tile]:
    """Cover an image with cores of at most ``core`` pixels a side, balanced so no strip is tiny."""
    tiles = []
    for top, bottom in _spans(height, core):
        for left, right in _spans(width, core):
            tiles.append(
                Tile(
                    top,
                    left,
                    bottom,
                    right,
                    max(0, top - halo),
                    max(0, left - halo),
                    min(height, bottom + halo),
                    min(width, right + halo),
                )
            )
    return tiles


def _spans(length: int, core: int) -> list[tuple[int, int]]:
    count = -(-length // core)
    step = _round_up(-(-length // count), TILE_ALIGN)
    return [(start, min(start + step, length)) for start in range(0, length, step)]


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


@dataclass
class _Moments:
    """Running sums of f and f·fᵀ over feature positions (float64, so 10⁷ positions add up exactly)."""

    outer: torch.Tensor
    total: torch.Tensor
    count: int = 0

    @classmethod
    def empty(cls, channels: int, device: torch.device) -> _Moments:
        return cls(
            torch.zeros(channels, channels, dtype=torch.float64, device=device),
            torch.zeros(channels, dtype=torch.float64, device=device),
        )

    def add(self, flat: torch.Tensor) -> None:
        self.outer += (flat @ flat.T).double()
        self.total += flat.sum(dim=1).double()
        self.count += flat.shape[1]

    def gram(self) -> torch.Tensor:
        return (self.outer / self.count).float().unsqueeze(0)

    def mean_covariance(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.total / self.count
        covariance = self.outer / self.count - torch.outer(mean, mean)
        return mean.float().unsqueeze(0), covariance.float().unsqueeze(0)


def _core_flat(features: torch.Tensor, tile: Tile, layer: str) -> torch.Tensor:
    rows, cols = tile.core_in_tile(layer_stride(layer))
    core = features[0, :, rows, cols].float()
    return core.reshape(core.shape[0], -1)


class _TiledNet:
    def __init__(self, net: VGG19Features, dtype: torch.dtype, memory_format: torch.memory_format) -> None:
        self.net, self.dtype, self.memory_format = net, dtype, memory_format

    def __call__(self, crop: torch.Tensor) -> dict[str, torch.Tensor]:
        with autocast(crop.device, self.dtype):
            features: dict[str, torch.Tensor] = self.net(crop.contiguous(memory_format=self.memory_format))
        return features

    def moments(
        self, image: torch.Tensor, tiles: Sequence[Tile], layers: Sequence[str]
    ) -> dict[str, _Moments]:
        found: dict[str, _Moments] = {}
        with torch.no_grad():
            for tile in tiles:
                _add_moments(found, self(tile.crop(image)), tile, layers)
        return found


def _add_moments(
    moments: dict[str, _Moments], feats: dict[str, torch.Tensor], tile: Tile, layers: Sequence[str]
) -> None:
    for layer in layers:
        flat = _core_flat(feats[layer], tile, layer)
        moments.setdefault(layer, _Moments.empty(flat.shape[0], flat.device)).add(flat)


def tiled_style_statistics(
    net: VGG19Features,
    images: Sequence[torch.Tensor],
    blend: Sequence[float],
    settings: Settings,
    dtype: torch.dtype,
    memory_format: torch.memory_format,
    core: int,
    halo: int,
) -> StyleStats:
    """:func:`brushwork.engines.optimize.objective.style_statistics`, gathered tile by tile."""
    runner = _TiledNet(net, dtype, memory_format)
    total = sum(blend)
    gram: dict[str, torch.Tensor] = {}
    mean: dict[str, torch.Tensor] = {}
    cov: dict[str, torch.Tensor] = {}
    for image, weight in zip(images, blend, strict=True):
        tiles = plan_tiles(image.shape[-2], image.shape[-1], core, halo)
        share = weight / total
        for layer, moments in runner.moments(image, tiles, settings.style_layers).items():
            if settings.style_loss == "gram":
                gram[layer] = gram.get(layer, 0) + share * moments.gram()
            else:
                m, c = moments.mean_covariance()
                mean[layer] = mean.get(layer, 0) + share * m
                cov[layer] = cov.get(layer, 0) + share * c
    return StyleStats(gram, mean, cov)


@dataclass(frozen=True)
class _StyleGradient:
    """d(loss)/d(statistics) for one layer, fixed during a gradient pass."""

    positions: int  # N, positions in the whole image at this layer
    matrix: torch.Tensor  # D = dL/dG or dL/dΣ, (C, C)
    mean: torch.Tensor | None = None  # μ, for the covariance term
    mean_gradient: torch.Tensor | None = None  # dL/dμ

    def surrogate(self, flat: torch.Tensor) -> torch.Tensor:
        """A function of the core's features whose gradient is the whole-image loss's gradient."""
        if self.mean is None:
            return (flat * (self.matrix @ flat)).sum() / self.positions
        assert self.mean_gradient is not None
        centred = flat - self.mean.unsqueeze(1)
        linear = (self.mean_gradient @ flat).sum()
        return (linear + (centred * (self.matrix @ centred)).sum()) / self.positions


class TiledObjective:
    """The loss of :class:`brushwork.engines.optimize.objective.Objective`, evaluated tile by tile."""

    def __init__(
        self,
        net: VGG19Features,
        settings: Settings,
        content: torch.Tensor,
        style: StyleStats,
        dtype: torch.dtype,
        memory_format: torch.memory_format,
        core: int,
        halo: int,
    ) -> None:
        self.settings = settings
        self.style = style
        self.runner = _TiledNet(net, dtype, memory_format)
        self.height, self.width = content.shape[-2:]
        self.tiles = plan_tiles(self.height, self.width, core, halo)
        self.layer_weights = dict(
            zip(settings.style_layers, default_style_layer_weights(settings), strict=True)
        )
        self.tv_scale = (max(self.height, self.width) / TV_REFERENCE_SIZE) ** 2
        self.content: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for tile in self.tiles:
                feats = self.runner(tile.crop(content))
                for layer in settings.content_layers:
                    f = feats[layer]
                    if layer not in self.content:
                        stride = layer_stride(layer)
                        shape = (f.shape[1], -(-self.height // stride), -(-self.width // stride))
                        self.content[layer] = torch.zeros(shape, dtype=torch.float32, device=f.device)
                    rows, cols = tile.core_in_tile(layer_stride(layer))
                    image_rows, image_cols = tile.core_in_image(layer_stride(layer))
                    self.content[layer][:, image_rows, image_cols] = f[0, :, rows, cols].float()
        self.content_norm = {k: relative_norm(settings, v) for k, v in self.content.items()}
        self.style_norm = style_norms(settings, style)

    def evaluate(
        self, image: torch.Tensor, scale: float, on_tile: TileHook | None = None
    ) -> dict[str, float]:
        """Loss terms of ``image``; sets ``image.grad`` to the gradient of ``scale`` × the total."""
        s = self.settings
        content_weight, style_weight = s.loss_weights
        x = image.detach()
        content_sums = dict.fromkeys(self.content, 0.0)
        tv_sums = [0.0, 0.0]
        with torch.no_grad():
            moments: dict[str, _Moments] = {}
            for tile in self.tiles:
                feats = self.runner(tile.crop(x))
                for layer in self.content:
                    content_sums[layer] += float(self._content_sum(feats[layer], tile, layer))
                _add_moments(moments, feats, tile, s.style_layers)
                across, down = self._tv_sums(tile.crop(x), tile)
                tv_sums[0] += float(across)
                tv_sums[1] += float(down)

        content = 0.0
        for layer, total in content_sums.items():
            content += total / self.content[layer].numel() / self.content_norm[layer]
        style = 0.0
        gradients: dict[str, _StyleGradient] = {}
        for layer, weight in self.layer_weights.items():
            term, gradients[layer] = self._style_term(layer, moments[layer], weight * style_weight)
            style += weight * term
        tv = float(self._tv_value(*tv_sums))
        parts = {"content": content_weight * content, "style": style_weight * style, "tv": s.tv_weight * tv}

        grad = torch.zeros_like(x)
        for index, tile in enumerate(self.tiles):
            crop = tile.crop(x).clone().requires_grad_(True)
            feats = self.runner(crop)
            surrogate = crop.new_zeros((), dtype=torch.float32)
            for layer in self.content:
                surrogate = surrogate + content_weight * self._content_sum(feats[layer], tile, layer) / (
                    self.content[layer].numel() * self.content_norm[layer]
                )
            for layer in s.style_layers:
                surrogate = surrogate + gradients[layer].surrogate(_core_flat(feats[layer], tile, layer))
            if s.tv_weight:
                surrogate = surrogate + s.tv_weight * self._tv_value(*self._tv_sums(crop, tile))
            (surrogate * scale).backward()
            assert crop.grad is not None
            tile.crop(grad).add_(crop.grad)
            del feats, surrogate, crop
            if on_tile is not None:
                on_tile(index + 1, len(self.tiles))
        image.grad = grad
        values = {name: float(value) for name, value in parts.items()}
        values["total"] = sum(values.values())
        return values

    def _content_sum(self, features: torch.Tensor, tile: Tile, layer: str) -> torch.Tensor:
        rows, cols = tile.core_in_tile(layer_stride(layer))
        image_rows, image_cols = tile.core_in_image(layer_stride(layer))
        target = self.content[layer][:, image_rows, image_cols]
        return (features[0, :, rows, cols].float() - target).pow(2).sum()

    def _style_term(self, layer: str, moments: _Moments, weight: float) -> tuple[float, _StyleGradient]:
        """The layer's loss (as :mod:`~brushwork.engines.optimize.losses` defines it) and its gradient
        w.r.t. the stats."""
        norm = self.style_norm[layer]
        if self.settings.style_loss == "gram":
            gram = moments.gram()[0]
            diff = gram - self.style.gram[layer][0]
            channels = diff.shape[0]
            value = float(diff.pow(2).mean()) / norm
            return value, _StyleGradient(moments.count, weight * 2 * diff / (channels**2 * norm))
        mean, covariance = moments.mean_covariance()
        mean_diff = mean[0] - self.style.mean[layer][0]
        cov_diff = covariance[0] - self.style.covariance[layer][0]
        channels = cov_diff.shape[0]
        value = (float(mean_diff.pow(2).mean()) + float(cov_diff.pow(2).mean())) / norm
        return value, _StyleGradient(
            moments.count,
            weight * 2 * cov_diff / (channels**2 * norm),
            mean=mean[0],
            mean_gradient=weight * 2 * mean_diff / (channels * norm),
        )

    def _tv_sums(self, crop: torch.Tensor, tile: Tile) -> tuple[torch.Tensor, torch.Tensor]:
        """Squared differences to the right and below, for pairs whose first pixel is in the core."""
        rows = slice(tile.top - tile.pad_top, tile.bottom - tile.pad_top)
        cols = slice(tile.left - tile.pad_left, tile.right - tile.pad_left)
        wide = slice(cols.start, cols.stop + (1 if tile.right < self.width else 0))
        tall = slice(rows.start, rows.stop + (1 if tile.bottom < self.height else 0))
        across = crop[..., rows, wide].float()
        down = crop[..., tall, cols].float()
        return (
            (across[..., :, 1:] - across[..., :, :-1]).pow(2).sum(),
            (down[..., 1:, :] - down[..., :-1, :]).pow(2).sum(),
        )

    def _tv_value(self, across: torch.Tensor | float, down: torch.Tensor | float) -> torch.Tensor | float:
        # as losses.total_variation on sRGB in [0, 1]: Caffe space is 255× that, so divide by 255²
        h, w = self.height, self.width
        pairs_across, pairs_down = 3 * h * (w - 1), 3 * (h - 1) * w
        value = across / max(pairs_across, 1) + down / max(pairs_down, 1)
        return value / 255.0**2 * self.tv_scale
