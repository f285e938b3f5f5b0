"""The fast engine: one pass of the Magenta network at the photo's own resolution.

Settings that mean something here: size, strength, style_blend, style_scale, preserve_color,
match_colors, precision and max_memory (which sizes the bands of rows large pictures run in).
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from brushwork import color
from brushwork.config import Settings
from brushwork.device import preferred_memory_format, resolve_precision
from brushwork.engines.feedforward.network import BAND_VALUES, StylePredictor, TransformNet

# The side of the square the predictor was trained to read paintings at (Ghiasi et al. 2017).
STYLE_READ_SIDE = 256
# The network halves the picture twice and doubles it twice: it runs on multiples of this.
MULTIPLE = 4


@functools.lru_cache(maxsize=4)
def networks(device: torch.device, dtype: torch.dtype = torch.float32) -> tuple[StylePredictor, TransformNet]:
    """Both networks on ``device``, the transform's convolutions in ``dtype``; built once per process.

    The predictor stays float32, in the device's preferred layout (channels-last on a CPU reads a
    painting in three quarters of the time, to within 1e-6 of the default layout)."""
    layout = preferred_memory_format(device)
    transform = TransformNet().eval().to(device).compute_in(dtype, layout)
    predictor = StylePredictor().eval().to(device, memory_format=layout)  # type: ignore[call-overload]
    return predictor, transform


def style_mix(strength: float | None) -> tuple[float, float]:
    """(t, alpha) for a strength: the style vector is ``own + t (painting − own)`` and the output is
    ``photo + alpha (painted − photo)``.

    Up to 0.5 (the default balance) t rises to 1, the network's full style, and alpha reaches 1 by
    0.25; at 0 the photo is returned unchanged. Above 0.5 the style vector is pushed past the
    painting's, t up to 1.5 at strength 1, which strengthens colours and strokes without artefacts.
    """
    s = 0.5 if strength is None else strength
    t = 2 * s if s <= 0.5 else 1 + (s - 0.5)
    return t, min(1.0, 4 * s)


def read_side(output: tuple[int, int], scale: float) -> int:
    """The short side the painting is read at, for an output of ``output`` (width, height) pixels.

    Half the output's long side, kept between 256 (the predictor's training size) and 512, divided by
    ``style_scale``: the smaller the painting is read, the larger and bolder its strokes come out, as
    a larger ``style_scale`` gives larger strokes in the optimizer. At 1024 px, reading at 512 rather
    than 256 matched the painting better (Gram distance 0.24 vs 0.63 on three pairs) and kept more of
    the photo (SSIM 0.51 vs 0.48); at 2048 px, reading at 1024 washed the colours out (BENCHMARKS.md).
    """
    return max(64, round(min(max(max(output) / 2, STYLE_READ_SIDE), 2 * STYLE_READ_SIDE) / scale))


def _read_size(style: torch.Tensor, side: int) -> tuple[int, int]:
    """``style``'s size with its short side at ``side``, aspect kept."""
    height, width = style.shape[-2:]
    factor = side / min(height, width)
    return max(16, round(width * factor)), max(16, round(height * factor))


def _resize(rgb: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    width, height = size
    if rgb.shape[-1] == width and rgb.shape[-2] == height:
        return rgb
    return F.interpolate(
        rgb, size=(height, width), mode="bicubic", align_corners=False, antialias=True
    ).clamp(0, 1)


def style_vector(
    predictor: StylePredictor,
    styles: Sequence[torch.Tensor],
    blend: Sequence[float],
    side: int,
) -> torch.Tensor:
    """The blend of each painting's style vector (each read with its short side at ``side``),
    weights normalised to sum to one."""
    total = sum(blend)
    vector = torch.zeros(1, predictor.bottleneck.out_channels, 1, 1, device=styles[0].device)
    for style, weight in zip(styles, blend, strict=True):
        if weight:
            vector += (weight / total) * _painting_vector(predictor, style, side)
    return vector


# Style vectors of recent paintings: a video or a batch paints many pictures with the same painting.
_VECTORS: OrderedDict[tuple[str, int, str], torch.Tensor] = OrderedDict()
_VECTORS_KEPT = 16


def _painting_key(style: torch.Tensor) -> str:
    """A digest of the painting's pixels and shape. A painting read from an image is a channels-last
    array seen as (1, 3, H, W): it is hashed where it lies, without the two copies (to channels-first,
    then to bytes) that cost more than a video frame's painting for a 12-megapixel painting."""
    pixels = style.detach().to("cpu", torch.float32)
    channels_last = pixels.permute(0, 2, 3, 1)
    layout = "nhwc" if channels_last.is_contiguous() else "nchw"
    data = channels_last if layout == "nhwc" else pixels.contiguous()
    digest = hashlib.sha1(f"{layout}:{tuple(pixels.shape)};".encode())
    digest.update(data.numpy().data)  # a view of contiguous memory: no copy
    return digest.hexdigest()


def _painting_vector(predictor: StylePredictor, style: torch.Tensor, side: int) -> torch.Tensor:
    key = (_painting_key(style), side, str(style.device))
    if key in _VECTORS:
        _VECTORS.move_to_end(key)
        cached: torch.Tensor = _VECTORS[key]
        return cached
    vector: torch.Tensor = predictor(_resize(style, _read_size(style, side)))
    _VECTORS[key] = vector
    while len(_VECTORS) > _VECTORS_KEPT:
        _VECTORS.popitem(last=False)
    return vector


def band_values(max_memory: int | None) -> int:
    """Values per band of rows: the default unless a small memory budget asks for less."""
    if max_memory is None:
        return BAND_VALUES
    # a band's gathered input, its output and the convolution's workspace: about 12 bytes per value
    return max(1 << 16, min(BAND_VALUES, max_memory // 48))


@torch.no_grad()
def paint(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    blend: Sequence[float],
    settings: Settings,
    *,
    max_memory: int | None = None,
) -> torch.Tensor:
    """Paint ``content`` (1, 3, H, W) sRGB in [0, 1] in the blended style of ``styles``; returns the
    same size and range. ``match_colors`` and ``preserve_color`` are applied here."""
    predictor, transform = networks(content.device, resolve_precision(settings.precision, content.device))
    if settings.match_colors is not None:
        styles = [color.match_color(s, content, settings.match_colors) for s in styles]
    t, alpha = style_mix(settings.strength)
    height, width = content.shape[-2:]
    if alpha == 0:
        return content.clone()
    side = read_side((width, height), settings.style_scale)
    painting = style_vector(predictor, styles, blend, side)
    if t != 1:
        own = predictor(_resize(content, _read_size(content, side)))
        painting = own + t * (painting - own)
    pad_h, pad_w = (-height) % MULTIPLE, (-width) % MULTIPLE
    photo = F.pad(content, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else content
    painted = transform(photo, painting, band_values(max_memory))[..., :height, :width]
    if alpha < 1:
        painted = torch.lerp(content, painted, alpha)
    if settings.preserve_color is not None:
        painted = color.preserve_color(painted, content, settings.preserve_color)
    result: torch.Tensor = painted.clamp_(0, 1)
    return result
