"""PyTorch port of Magenta's arbitrary-style network (Ghiasi et al., 2017), int8 weights dequantised.

* :class:`StylePredictor`: MobileNetV2 → a 100-number style vector. It ends in global average pooling,
  so it reads a painting of any size (the graph was exported at 256 × 256).
* :class:`TransformNet`: photo + style vector → painting. Three convolutions down (9×9, 3×3/2, 3×3/2),
  five residual blocks and three up, each of the last thirteen followed by conditional instance
  normalisation whose scale and shift come from the style vector. Nothing depends on the image size,
  so it runs at the photo's own resolution.

Large pictures run as exact tiles: every convolution is computed in bands of rows gathered straight
from the previous layer (reflection padding and nearest upsampling become index arithmetic), while the
normalisation statistics are taken over the whole picture, as one pass would. So tiles never show.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from brushwork.engines.feedforward.weights import PREDICTOR_FILE, TRANSFORM_FILE, ConvParams, load_graph

STYLE_DIM = 100
# Bands of rows are sized so that one band's gathered input holds about this many values.
BAND_VALUES = 1 << 25


def _convs(modules: nn.ModuleList) -> list[nn.Conv2d]:
    return [cast(nn.Conv2d, module) for module in modules]


class _LoadedConv2d(nn.Conv2d):
    """A convolution whose parameters are given: made on the meta device (no memory) and without
    the random initialisation, which there runs through Python decompositions (0.1 s for both
    networks) only to be overwritten."""

    def reset_parameters(self) -> None:
        pass


def _conv(params: ConvParams, padding: int = 0) -> nn.Conv2d:
    out_channels, in_per_group, kh, kw = params.weight.shape
    conv = _LoadedConv2d(
        in_per_group * params.groups,
        out_channels,
        (kh, kw),
        params.stride,
        padding=padding,
        groups=params.groups,
        device="meta",
    )
    # copies: the graph's tensors are shared by every network built in the process
    conv.weight = nn.Parameter(params.weight.clone(), requires_grad=False)
    conv.bias = nn.Parameter(params.bias.clone(), requires_grad=False)
    return conv


class StylePredictor(nn.Module):
    """MobileNetV2 (TF 'SAME' padding, ReLU6), global average pooling and a 1×1 bottleneck to the
    style vector. Input: (N, 3, H, W) RGB in [0, 1], any size. Output: (N, 100, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        convs = load_graph(PREDICTOR_FILE).convs

        def conv(name: str) -> nn.Conv2d:
            return _conv(convs[name])

        def pads(name: str) -> tuple[int, int, int, int]:
            top, left, bottom, right = convs[name].pads
            return (left, right, top, bottom)

        def padded(name: str) -> tuple[nn.Conv2d, tuple[int, int, int, int] | None]:
            """The convolution and the explicit padding before it; an even padding is left to the
            convolution itself, which saves a padded copy of its input."""
            left, right, top, bottom = pads(name)
            if left == right == top == bottom:
                return _conv(convs[name], padding=left), None
            return conv(name), (left, right, top, bottom)

        self.stem, self.stem_pad = padded("MobilenetV2/Conv/weights_dequant")
        self.blocks = nn.ModuleList()
        self.block_pads: list[tuple[int, int, int, int] | None] = []
        names = sorted(
            {key.split("/")[1] for key in convs if key.split("/")[1].startswith("expanded_conv")},
            key=lambda block: int(block.removeprefix("expanded_conv").lstrip("_") or 0),
        )
        for block in names:
            prefix = f"MobilenetV2/{block}"
            layers = nn.ModuleList()
            if f"{prefix}/expand/weights_dequant" in convs:
                layers.append(conv(f"{prefix}/expand/weights_dequant"))
            depthwise, depthwise_pad = padded(f"{prefix}/depthwise/depthwise_weights_dequant")
            layers.append(depthwise)
            layers.append(conv(f"{prefix}/project/weights_dequant"))
            self.blocks.append(layers)
            self.block_pads.append(depthwise_pad)
        self.head = conv("MobilenetV2/Conv_1/weights_dequant")
        self.bottleneck = conv("mobilenet_conv/Conv/weights_dequant")

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """The style vector, float32. ``rgb`` is read in the layout of the network's weights."""
        rgb = rgb.to(dtype=self.stem.weight.dtype).contiguous(memory_format=_layout(self.stem.weight))
        x = self.stem(_pad(rgb, self.stem_pad)).clamp_(0, 6)
        for layers, depthwise_pad in zip(self.blocks, self.block_pads, strict=True):
            block_input = x
            *expand, depthwise, project = _convs(cast(nn.ModuleList, layers))
            for layer in expand:
                x = layer(x).clamp_(0, 6)
            x = depthwise(_pad(x, depthwise_pad)).clamp_(0, 6)
            x = project(x)
            if x.shape == block_input.shape:
                x = x.add_(block_input)
        x = self.head(x).clamp_(0, 6).mean(dim=(2, 3), keepdim=True)
        vector: torch.Tensor = self.bottleneck(x)
        return vector.float()


class TransformNet(nn.Module):
    """Photo (N, 3, H, W) in [0, 1] + style vector (N, 100, 1, 1) → painting in [0, 1], same size.

    H and W should be multiples of 4 (the network halves twice and doubles twice).
    """

    def __init__(self) -> None:
        super().__init__()
        graph = load_graph(TRANSFORM_FILE)
        convs = graph.convs
        self.eps = next(v for k, v in graph.constants.items() if k.endswith("batchnorm/add/y_dequant"))

        def main(name: str) -> nn.Conv2d:
            return _conv(convs[f"transformer/{name}/weights_dequant"])

        def style(name: str) -> tuple[nn.Conv2d, nn.Conv2d]:
            prefix = f"style_params/transformer/{name}/StyleNorm"
            return (
                _conv(convs[f"{prefix}/Conv_1/weights_dequant"]),
                _conv(convs[f"{prefix}/Conv/weights_dequant"]),
            )

        self.contract = nn.ModuleList([main(f"contract/conv{i}") for i in (1, 2, 3)])
        normed = [f"residual/residual{b}/conv{i}" for b in range(1, 6) for i in (1, 2)]
        normed += [f"expand/conv{i}/conv" for i in (1, 2, 3)]
        self.normed = nn.ModuleList([main(name) for name in normed])
        pairs = [style(name) for name in normed]
        self.gammas = nn.ModuleList([gamma for gamma, _ in pairs])
        self.betas = nn.ModuleList([beta for _, beta in pairs])

    def norm_parameters(self, style: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(scale, shift) of each of the 13 conditional instance normalisations, from a style vector."""
        pairs = zip(_convs(self.gammas), _convs(self.betas), strict=True)
        return [(gamma(style), beta(style)) for gamma, beta in pairs]

    def compute_in(self, dtype: torch.dtype, memory_format: torch.memory_format) -> TransformNet:
        """Run the picture's convolutions in ``dtype`` and ``memory_format``; the style vector's
        projections and the normalisation statistics stay float32."""
        for module in (self.contract, self.normed):
            module.to(dtype=dtype, memory_format=memory_format)  # type: ignore[call-overload]
        return self

    def forward(
        self, photo: torch.Tensor, style: torch.Tensor, band_values: int = BAND_VALUES
    ) -> torch.Tensor:
        """The painting, float32. ``photo`` is converted to the convolutions' dtype and layout."""
        contract, normed = _convs(self.contract), _convs(self.normed)
        weight = contract[0].weight
        photo = photo.to(dtype=weight.dtype).contiguous(memory_format=_layout(weight))
        params = self.norm_parameters(style.float())
        norm = iter(zip(normed, params, strict=True))

        def layer(x: torch.Tensor, pad: int, upsample: int = 1, relu: bool = True) -> torch.Tensor:
            conv, (gamma, beta) = next(norm)
            y = banded_conv(x, conv, pad=pad, upsample=upsample, band_values=band_values)
            y = instance_norm(y, gamma, beta, self.eps)
            return y.relu_() if relu else y

        x = photo
        for conv, pad in zip(contract, (4, 1, 1), strict=True):
            x = banded_conv(x, conv, pad=pad, band_values=band_values).relu_()
        for _ in range(5):
            h = layer(x, 1)
            x = x + layer(h, 1, relu=False)
        x = layer(x, 1, upsample=2)
        x = layer(x, 1, upsample=2)
        return torch.sigmoid_(layer(x, 4, relu=False)).float()


def _layout(weight: torch.Tensor) -> torch.memory_format:
    """The memory format a convolution with ``weight`` runs in (channels-last or the default)."""
    if weight.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int] | None) -> torch.Tensor:
    return x if pads is None else F.pad(x, pads)


def instance_norm(y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> torch.Tensor:
    """Conditional instance normalisation over the whole picture, in place; statistics in float32.

    ``gamma`` and ``beta`` are (N, C, 1, 1). A channels-last picture is handled as rows of pixels
    with the channels innermost: reducing over the picture's dimensions (2, 3) of a channels-last
    tensor, or broadcasting a (N, C, 1, 1) tensor over it, runs along inner loops as short as C (3
    to 32 here) and took half the transform network's time.
    """
    n, channels, height, width = y.shape
    rows = channels > 1 and not y.is_contiguous() and y.is_contiguous(memory_format=torch.channels_last)
    if rows:
        pixels = y.permute(0, 2, 3, 1).view(n, height * width, channels)  # (N, HW, C), a view
        stat_shape, dim = (n, 1, channels), 1
    elif y.is_contiguous():
        pixels = y.view(n, channels, height * width)
        stat_shape, dim = (n, channels, 1), 2
    else:  # any other layout: the plain formula
        var, mean = torch.var_mean(y.float(), dim=(2, 3), keepdim=True, correction=0)
        scale = torch.rsqrt(var + eps) * gamma
        shift = beta - mean * scale
        return y.mul_(scale.to(y.dtype)).add_(shift.to(y.dtype))
    # two passes over a float32 copy: the mean, then the mean square deviation (no catastrophic
    # cancellation, unlike E[y²] − E[y]²)
    values = pixels.float() if pixels.dtype != torch.float32 else pixels.clone()
    mean = values.mean(dim=dim, keepdim=True)
    var = values.sub_(mean).square_().mean(dim=dim, keepdim=True)
    del values
    scale = torch.rsqrt(var + eps) * gamma.reshape(stat_shape)
    shift = beta.reshape(stat_shape) - mean * scale
    if rows:  # scale and shift repeated along a row of pixels: (N, 1, W·C) over (N, H, W·C)
        line = y.permute(0, 2, 3, 1).view(n, height, width * channels)
        line.mul_(scale.to(y.dtype).repeat(1, 1, width)).add_(shift.to(y.dtype).repeat(1, 1, width))
    else:
        pixels.mul_(scale.to(y.dtype)).add_(shift.to(y.dtype))
    return y


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    index = index.abs()
    return torch.where(index >= size, 2 * (size - 1) - index, index)


def _source_rows(
    count: int, start: int, size: int, pad: int, upsample: int, device: torch.device
) -> torch.Tensor:
    """Rows of the unpadded input that rows start … start+count-1 of the reflection-padded,
    nearest-upsampled input come from."""
    index = torch.arange(start, start + count, device=device) - pad
    return _reflect(index, size * upsample) // upsample


def _widen(x: torch.Tensor, pad: int, upsample: int, rows_done: bool) -> torch.Tensor:
    """Nearest-upsample and reflection-pad ``x`` (the rows too unless ``rows_done``)."""
    if upsample > 1:
        if rows_done:
            x = x.repeat_interleave(upsample, dim=3)
        else:
            x = F.interpolate(x, scale_factor=upsample, mode="nearest")
    if pad:
        x = F.pad(x, (pad, pad, 0 if rows_done else pad, 0 if rows_done else pad), mode="reflect")
    return x


def banded_conv(
    x: torch.Tensor, conv: nn.Conv2d, *, pad: int, upsample: int = 1, band_values: int = BAND_VALUES
) -> torch.Tensor:
    """``conv(reflection_pad(nearest_upsample(x, upsample), pad))``, in bands of output rows when the
    picture is large.

    Each band gathers only the input rows it needs, so no padded or upsampled copy of the whole
    picture is made; the result equals one pass exactly.
    """
    n, channels, height, width = x.shape
    kernel, stride = conv.kernel_size[0], conv.stride[0]
    up_h, up_w = height * upsample, width * upsample
    if pad >= up_h or pad >= up_w:
        raise ValueError(f"picture too small for the network: {width}x{height}")
    out_h = (up_h + 2 * pad - kernel) // stride + 1
    rows_per_band = max(
        1, band_values // max(1, n * max(channels, conv.out_channels) * (up_w + 2 * pad) * stride)
    )
    if rows_per_band >= out_h:
        whole: torch.Tensor = conv(_widen(x, pad, upsample, rows_done=False))
        return whole
    out: torch.Tensor | None = None
    for first in range(0, out_h, rows_per_band):
        last = min(out_h, first + rows_per_band)
        rows = _source_rows(
            (last - first - 1) * stride + kernel, first * stride, height, pad, upsample, x.device
        )
        band = conv(_widen(x.index_select(2, rows), pad, upsample, rows_done=True))
        if out is None:
            out = band.new_empty((n, band.shape[1], out_h, band.shape[3])).contiguous(
                memory_format=x_format(x)
            )
        out[:, :, first:last] = band
    assert out is not None
    return out


def x_format(x: torch.Tensor) -> torch.memory_format:
    """The memory format ``x`` is in (channels-last or the default)."""
    return (
        torch.channels_last
        if x.is_contiguous(memory_format=torch.channels_last) and x.shape[1] > 1
        else torch.contiguous_format
    )
