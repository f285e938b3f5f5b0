"""VGG19 with named layers (``relu1_1`` … ``relu5_4``), cut after the deepest layer asked for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import torch
from torch import nn

from brushwork.errors import SettingsError

Pooling = Literal["max", "avg"]
Padding = Literal["zeros", "reflect", "replicate"]

# (block, convs per block) of VGG19
_BLOCKS = ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for block, convs in _BLOCKS:
        for index in range(1, convs + 1):
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
        names.append(f"pool{block}")
    return tuple(names)


LAYER_NAMES = _layer_names()
FEATURE_LAYERS = tuple(name for name in LAYER_NAMES if name.startswith("relu"))

# Caffe VGG was trained on BGR images in 0–255 with this mean subtracted.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def to_caffe(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], shape (N, 3, H, W) → the network's input space (BGR, 0–255, mean removed)."""
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return rgb.flip(1) * 255.0 - mean


def from_caffe(caffe: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_caffe`; the result is not clipped."""
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=caffe.dtype, device=caffe.device).view(1, 3, 1, 1)
    return ((caffe + mean) / 255.0).flip(1)


def layer_stride(name: str) -> int:
    """Pixels per feature position at a layer: 1 in block 1, doubling after each pooling."""
    block = int(name[4])  # conv4_2, relu4_2, pool4 → 4
    return 1 << (block if name.startswith("pool") else block - 1)


def check_layers(layers: Iterable[str]) -> None:
    for layer in layers:
        if layer not in LAYER_NAMES:
            raise SettingsError(f"unknown layer '{layer}'; choose from {', '.join(FEATURE_LAYERS)}")


class VGG19Features(nn.Module):
    """Frozen VGG19 convolutional trunk returning a dict of the requested activations."""

    def __init__(
        self,
        state: Mapping[str, torch.Tensor],
        layers: Iterable[str],
        *,
        pooling: Pooling = "max",
        padding: Padding = "zeros",
    ) -> None:
        super().__init__()
        self.layers = tuple(dict.fromkeys(layers))
        check_layers(self.layers)
        if not self.layers:
            raise SettingsError("no feature layers requested")
        if pooling not in ("max", "avg"):
            raise SettingsError(f"unknown pooling '{pooling}'; choose max or avg")
        last = max(LAYER_NAMES.index(layer) for layer in self.layers)
        self.names = LAYER_NAMES[: last + 1]
        modules: list[nn.Module] = []
        for name in self.names:
            if name.startswith("conv"):
                modules.append(self._conv(name, state, padding if name == "conv1_1" else "zeros"))
            elif name.startswith("relu"):
                # In place saves memory, unless the conv output it would overwrite is itself requested.
                modules.append(nn.ReLU(inplace=name.replace("relu", "conv") not in self.layers))
            elif pooling == "max":
                modules.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                modules.append(nn.AvgPool2d(2, 2, ceil_mode=True))
        self.trunk = nn.ModuleList(modules)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _conv(name: str, state: Mapping[str, torch.Tensor], padding: Padding) -> nn.Conv2d:
        if f"{name}.weight" not in state:
            raise SettingsError(f"the weights file has no '{name}', which the requested layers need")
        weight, bias = state[f"{name}.weight"], state[f"{name}.bias"]
        conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1, padding_mode=padding)
        conv.weight = nn.Parameter(weight.clone(), requires_grad=False)
        conv.bias = nn.Parameter(bias.clone(), requires_grad=False)
        return conv

    def channels(self, layer: str) -> int:
        """Number of channels of a requested layer's activation."""
        conv = self.trunk[self.names.index(layer.replace("relu", "conv"))]
        assert isinstance(conv, nn.Conv2d)
        return int(conv.out_channels)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``x`` is in Caffe space (see :func:`to_caffe`); returns ``{layer: activation}``."""
        wanted = set(self.layers)
        out: dict[str, torch.Tensor] = {}
        for name, module in zip(self.names, self.trunk, strict=True):
            x = module(x)
            if name in wanted:
                out[name] = x
        return out
