"""How close a stylized picture is to its photograph and to its painting(s), in numbers.

Every number is computed in float32 at the output's size: the content image is resized to exactly that
size, and each style image to the same pixel count as the output, keeping its own aspect ratio (as
:func:`brushwork.stylize` shows it at the final scale). Features come from the standard VGG19 (max
pooling, zero padding), whatever settings made the output, so numbers from different runs compare.

Content fidelity (how much of the photo survives):

``content_error``
    Relative feature error at ``relu4_2``, ``‖F(output) − F(content)‖² / ‖F(content)‖²``.
    **Lower is closer to the photo**: 0 = the same features; 1 = as far off as all-zero features.
``ssim``
    Structural similarity (Wang et al. 2004; 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03)
    of the BT.601 luminance of output and content. **Higher is closer**: 1 = identical, about 0 =
    unrelated, below 0 = inverted structure.

Style match (how much the output looks like the painting), each averaged over ``relu1_1``,
``relu2_1``, ``relu3_1``, ``relu4_1`` and ``relu5_1``:

``gram``
    Relative Gram-matrix distance ``‖G(output) − G(style)‖² / ‖G(style)‖²``. **Lower is more like
    the painting**: 0 = the same feature correlations.
``meancov``
    Relative distance of the channel means and covariances, the mean of
    ``‖μ(output) − μ(style)‖² / ‖μ(style)‖²`` and ``‖Σ(output) − Σ(style)‖² / ‖Σ(style)‖²``.
    **Lower is more like the painting**.

The painting's large forms (its swirls, big strokes and colour masses rather than its small marks):

``forms_gram``, ``forms_meancov``
    The same two distances with the output and the painting both reduced 4x (output long side /4, at
    least 64 px; the painting to the same pixel count as the reduced output). At 1/4 size a VGG19
    layer sees 4x further across the picture, so these numbers follow what the eye sees on a contact
    sheet: a result with the painting's fine texture but none of its large forms scores well at full
    size and badly here. **Lower is more like the painting**.

With several styles each gets its own ``gram`` and ``meancov`` (and forms); ``style_gram``,
``style_meancov``, ``forms_gram`` and ``forms_meancov`` are their means weighted by the blend weights
(equal by default). For one style they are that style's numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from brushwork import imageio
from brushwork.api import ImageInput, as_picture
from brushwork.color import luminance
from brushwork.engines.optimize import losses
from brushwork.engines.optimize.engine import style_size as _style_size
from brushwork.engines.optimize.objective import resize_caffe
from brushwork.errors import SettingsError, UserInputError
from brushwork.features import VGG19Features, find_weights, load_weights, to_caffe

CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03

_EPS = 1e-12

# The large-form distances are measured with the output reduced this many times (never below
# FORMS_MIN_SIDE on the long side, nor above the output's own size).
FORMS_REDUCTION = 4
FORMS_MIN_SIDE = 64


@dataclass(frozen=True)
class StyleScore:
    """How close the output is to one style image (lower is closer)."""

    weight: float  # its blend weight, as given
    gram: float  # mean over STYLE_LAYERS of the relative Gram distance
    meancov: float  # mean over STYLE_LAYERS of the relative mean/covariance distance
    gram_layers: Mapping[str, float]
    meancov_layers: Mapping[str, float]
    forms_gram: float  # gram, measured with output and painting reduced FORMS_REDUCTION times
    forms_meancov: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "gram": _round(self.gram),
            "meancov": _round(self.meancov),
            "forms_gram": _round(self.forms_gram),
            "forms_meancov": _round(self.forms_meancov),
            "layers": {
                layer: {
                    "gram": _round(self.gram_layers[layer]),
                    "meancov": _round(self.meancov_layers[layer]),
                }
                for layer in self.gram_layers
            },
        }


@dataclass(frozen=True)
class Evaluation:
    """The numbers for one output; see the module documentation for what each one means."""

    size: tuple[int, int]  # (width, height) of the output, where everything was measured
    content_error: float  # lower is closer to the photo
    ssim: float  # higher is closer to the photo (1 = identical)
    style_gram: float  # lower is more like the painting(s)
    style_meancov: float  # lower is more like the painting(s)
    forms_gram: float  # the painting's large forms: style_gram at 1/4 size; lower is more like it
    forms_meancov: float
    forms_size: tuple[int, int]  # (width, height) the large forms were measured at
    styles: tuple[StyleScore, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, with the keys named as the fields (``styles`` as a list)."""
        return {
            "size": list(self.size),
            "content_error": _round(self.content_error),
            "ssim": _round(self.ssim),
            "style_gram": _round(self.style_gram),
            "style_meancov": _round(self.style_meancov),
            "forms_gram": _round(self.forms_gram),
            "forms_meancov": _round(self.forms_meancov),
            "forms_size": list(self.forms_size),
            "styles": [score.to_dict() for score in self.styles],
        }


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def evaluate(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    output: ImageInput,
    *,
    blend: Sequence[float] | None = None,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
) -> Evaluation:
    """Measure ``output`` against its ``content`` photo and ``styles`` painting(s).

    Images are paths, :class:`~brushwork.imageio.Picture` objects or (H, W, 3) arrays (uint8, or
    float in [0, 1]); alpha is ignored. ``blend`` weighs the styles in ``style_gram`` and
    ``style_meancov`` (default: equal). ``weights`` is the VGG19 weights file (as for
    :func:`brushwork.stylize`). See the module documentation for the meaning of each number.
    """
    return evaluate_many(content, styles, [output], blend=blend, weights=weights, device=device)[0]


def evaluate_many(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    outputs: Sequence[ImageInput],
    *,
    blend: Sequence[float] | None = None,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
) -> list[Evaluation]:
    """:func:`evaluate` for several outputs of the same content and styles, reusing the network and
    the reference statistics between outputs of the same size."""
    style_list: list[ImageInput] = list(styles) if isinstance(styles, list | tuple) else [styles]  # type: ignore[list-item]
    if not style_list:
        raise UserInputError("at least one style image is needed")
    blend_values = tuple(float(w) for w in blend) if blend is not None else tuple(1.0 for _ in style_list)
    if len(blend_values) != len(style_list):
        raise SettingsError(f"blend has {len(blend_values)} weights for {len(style_list)} style images")
    if any(not np.isfinite(w) or w < 0 for w in blend_values) or not any(blend_values):
        raise SettingsError(f"blend weights must be finite, >= 0 and not all zero, got {list(blend_values)}")

    content_picture = as_picture(content, "content")
    style_pictures = [as_picture(style, "style") for style in style_list]
    output_pictures = [as_picture(output, "output") for output in outputs]
    torch_device = torch.device(device)
    net = VGG19Features(load_weights(find_weights(weights)), (CONTENT_LAYER, *STYLE_LAYERS)).to(torch_device)
    scorer = _Scorer(net, content_picture.rgb, [p.rgb for p in style_pictures], blend_values, torch_device)
    return [scorer.score(picture.rgb) for picture in output_pictures]


@dataclass(frozen=True)
class _References:
    content: torch.Tensor  # relu4_2 of the content image
    content_luma: torch.Tensor  # (1, 1, H, W)
    grams: list[dict[str, torch.Tensor]]  # per style
    means: list[dict[str, torch.Tensor]]
    covariances: list[dict[str, torch.Tensor]]


class _Scorer:
    """Reference features per output size, computed once."""

    def __init__(
        self,
        net: VGG19Features,
        content: npt.NDArray[np.float32],
        styles: list[npt.NDArray[np.float32]],
        blend: tuple[float, ...],
        device: torch.device,
    ) -> None:
        self.net = net
        self.content = content
        self.styles = [_tensor(style, device) for style in styles]
        self.blend = blend
        self.device = device
        self.cache: dict[tuple[int, int], _References] = {}

    def _features(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return {k: v.float() for k, v in self.net(to_caffe(rgb)).items()}

    def _references(self, size: tuple[int, int]) -> _References:
        if size not in self.cache:
            content = _tensor(imageio.resize(self.content, size), self.device)
            grams, means, covariances = [], [], []
            for style in self.styles:
                shown = resize_caffe(style, _style_size((style.shape[-1], style.shape[-2]), size, 1.0))
                feats = self._features(shown)
                grams.append({layer: losses.gram_matrix(feats[layer]) for layer in STYLE_LAYERS})
                pairs = {layer: losses.mean_covariance(feats[layer]) for layer in STYLE_LAYERS}
                means.append({layer: pair[0] for layer, pair in pairs.items()})
                covariances.append({layer: pair[1] for layer, pair in pairs.items()})
            self.cache[size] = _References(
                content=self._features(content)[CONTENT_LAYER],
                content_luma=luminance(content.double()),
                grams=grams,
                means=means,
                covariances=covariances,
            )
        return self.cache[size]

    def _style_distances(
        self, feats: dict[str, torch.Tensor], refs: _References, index: int
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Per style layer, the relative Gram and mean/covariance distances to style ``index``."""
        gram_layers: dict[str, float] = {}
        meancov_layers: dict[str, float] = {}
        for layer in STYLE_LAYERS:
            gram_layers[layer] = _relative(losses.gram_matrix(feats[layer]), refs.grams[index][layer])
            mean, covariance = losses.mean_covariance(feats[layer])
            meancov_layers[layer] = 0.5 * (
                _relative(mean, refs.means[index][layer])
                + _relative(covariance, refs.covariances[index][layer])
            )
        return gram_layers, meancov_layers

    def score(self, output: npt.NDArray[np.float32]) -> Evaluation:
        size = (output.shape[1], output.shape[0])
        refs = self._references(size)
        rgb = _tensor(output, self.device)
        feats = self._features(rgb)
        small_size = forms_size(size)
        small_refs = self._references(small_size)
        small_feats = self._features(resize_caffe(rgb, small_size).clamp(0, 1))
        content_error = _relative(feats[CONTENT_LAYER], refs.content)
        scores = []
        for index, weight in enumerate(self.blend):
            gram_layers, meancov_layers = self._style_distances(feats, refs, index)
            forms_gram, forms_meancov = self._style_distances(small_feats, small_refs, index)
            scores.append(
                StyleScore(
                    weight=weight,
                    gram=_mean(gram_layers),
                    meancov=_mean(meancov_layers),
                    gram_layers=gram_layers,
                    meancov_layers=meancov_layers,
                    forms_gram=_mean(forms_gram),
                    forms_meancov=_mean(forms_meancov),
                )
            )
        total = sum(self.blend)
        return Evaluation(
            size=size,
            content_error=content_error,
            ssim=_ssim_luma(luminance(rgb.double()), refs.content_luma),
            style_gram=sum(s.weight * s.gram for s in scores) / total,
            style_meancov=sum(s.weight * s.meancov for s in scores) / total,
            forms_gram=sum(s.weight * s.forms_gram for s in scores) / total,
            forms_meancov=sum(s.weight * s.forms_meancov for s in scores) / total,
            forms_size=small_size,
            styles=tuple(scores),
        )


def forms_size(size: tuple[int, int]) -> tuple[int, int]:
    """The (width, height) an output of ``size`` is reduced to for the large-form distances."""
    long_side = max(size)
    reduced = max(round(long_side / FORMS_REDUCTION), min(long_side, FORMS_MIN_SIDE))
    return imageio.fit_long_side(size, reduced)


def _mean(values: Mapping[str, float]) -> float:
    return float(np.mean(list(values.values())))


def _tensor(rgb: npt.NDArray[Any], device: torch.device) -> torch.Tensor:
    """(H, W, 3) array → (1, 3, H, W) float32 tensor."""
    array = np.ascontiguousarray(rgb, dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1)[None].to(device)


def _relative(value: torch.Tensor, target: torch.Tensor) -> float:
    """‖value − target‖² / ‖target‖²."""
    return float((value - target).pow(2).sum() / target.pow(2).sum().clamp(min=_EPS))


def ssim(first: npt.NDArray[Any], second: npt.NDArray[Any]) -> float:
    """Mean SSIM of two images of the same shape: (H, W, 3) sRGB (compared by BT.601 luminance) or
    (H, W) grey, values in [0, 1]. 1 = identical; higher is more alike.

    Images smaller than the 11×11 window use the largest odd window that fits, with σ scaled to match.
    """
    if first.shape != second.shape:
        raise UserInputError(f"ssim needs images of the same shape, got {first.shape} and {second.shape}")
    if first.ndim not in (2, 3) or (first.ndim == 3 and first.shape[2] != 3) or 0 in first.shape:
        raise UserInputError(f"ssim needs (H, W, 3) or (H, W) images, got shape {first.shape}")
    lumas = []
    for image in (first, second):
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64))
        lumas.append(luminance(x.permute(2, 0, 1)[None]) if x.ndim == 3 else x[None, None])
    return _ssim_luma(lumas[0], lumas[1])


def _gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    offsets = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _ssim_luma(x: torch.Tensor, y: torch.Tensor) -> float:
    """SSIM of two (1, 1, H, W) luminance tensors, averaged over the windows fully inside the image.

    The statistics are taken in float64 (a variance is a small difference of large terms), except on
    devices without it."""
    size = min(SSIM_WINDOW, *x.shape[-2:])
    size -= 1 - size % 2  # odd
    work = torch.float32 if x.device.type == "mps" else torch.float64
    x, y = x.to(work), y.to(work)
    kernel = _gaussian_window(size, SSIM_SIGMA * size / SSIM_WINDOW, x)

    def blur(image: torch.Tensor) -> torch.Tensor:  # separable Gaussian, "valid" region only
        image = F.conv2d(image, kernel.view(1, 1, 1, -1))
        return F.conv2d(image, kernel.view(1, 1, -1, 1))

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # the data range is 1
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return float((numerator / denominator).mean())
