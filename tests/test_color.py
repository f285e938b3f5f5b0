"""Tests for brushwork.color: colour spaces, luminance-only transfer and colour matching."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.color import (
    lab_to_rgb,
    luminance,
    match_color,
    preserve_color,
    rgb_to_lab,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from brushwork.errors import SettingsError, UserInputError

DATA = Path(__file__).parent / "data"


def load(name: str) -> torch.Tensor:
    """A test image as a (3, H, W) float32 tensor in [0, 1]."""
    with Image.open(DATA / f"{name}.jpg") as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def pixel(r: float, g: float, b: float) -> torch.Tensor:
    return torch.tensor([r, g, b], dtype=torch.float32).view(3, 1, 1)


def channel_stats(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel means and (biased) colour covariance of a (3, H, W) image, in float64."""
    x = img.reshape(3, -1).double()
    mean = x.mean(dim=1)
    d = x - mean[:, None]
    return mean, d @ d.T / x.shape[1]


def quantiles(img: torch.Tensor, n: int = 101) -> torch.Tensor:
    """(n, 3) per-channel quantiles of a (3, H, W) image."""
    q = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    return torch.quantile(img.reshape(3, -1).double(), q, dim=1)


@pytest.fixture(scope="module")
def tubingen() -> torch.Tensor:
    return load("tubingen")


@pytest.fixture(scope="module")
def starry() -> torch.Tensor:
    return load("starry_night")


# --- round trips ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 17, 23), (4, 3, 9, 31)])
def test_ycbcr_round_trip_random(shape: tuple[int, ...]) -> None:
    rgb = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    ycc = rgb_to_ycbcr(rgb)
    assert ycc.shape == rgb.shape and ycc.dtype == torch.float32
    assert (ycbcr_to_rgb(ycc) - rgb).abs().max() < 1e-4


@pytest.mark.parametrize("shape", [(3, 17, 23), (4, 3, 9, 31)])
def test_lab_round_trip_random(shape: tuple[int, ...]) -> None:
    rgb = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape and lab.dtype == torch.float32
    assert (lab_to_rgb(lab) - rgb).abs().max() < 1e-3


def test_round_trips_real_image(tubingen: torch.Tensor) -> None:
    batch = torch.stack([tubingen, tubingen.flip(-1)])
    for img in (tubingen, batch):
        assert (ycbcr_to_rgb(rgb_to_ycbcr(img)) - img).abs().max() < 1e-4
        assert (lab_to_rgb(rgb_to_lab(img)) - img).abs().max() < 1e-3


def test_round_trip_covers_dark_values_below_srgb_knee() -> None:
    # The sRGB curve is linear below 0.04045; both branches must invert correctly.
    rgb = torch.linspace(0.0, 0.1, 3 * 50).view(3, 5, 10)
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4


def test_float64_round_trip_is_float64_and_precise() -> None:
    rgb = torch.rand(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lab = rgb_to_lab(rgb)
    assert lab.dtype == torch.float64
    assert (lab_to_rgb(lab) - rgb).abs().max() < 1e-10
    assert (ycbcr_to_rgb(rgb_to_ycbcr(rgb)) - rgb).abs().max() < 1e-12


# --- known values ---------------------------------------------------------------------------------------


def test_lab_of_white_black_and_red() -> None:
    white = rgb_to_lab(pixel(1, 1, 1)).flatten()
    assert torch.allclose(white, torch.tensor([100.0, 0.0, 0.0]), atol=1e-3)
    black = rgb_to_lab(pixel(0, 0, 0)).flatten()
    assert torch.allclose(black, torch.zeros(3), atol=1e-4)
    red = rgb_to_lab(pixel(1, 0, 0)).flatten()
    assert torch.allclose(red, torch.tensor([53.24, 80.09, 67.20]), atol=0.01)


def test_lab_of_mid_grey_uses_srgb_gamma() -> None:
    # Hand computation: linearise 0.5 with the sRGB curve, then L* = 116 Y^(1/3) - 16 (grey: a* = b* = 0).
    linear = ((0.5 + 0.055) / 1.055) ** 2.4
    expected_l = 116.0 * linear ** (1.0 / 3.0) - 16.0
    assert math.isclose(expected_l, 53.39, abs_tol=0.01)  # the known value, not code under test
    lab = rgb_to_lab(pixel(0.5, 0.5, 0.5)).flatten()
    assert torch.allclose(lab, torch.tensor([expected_l, 0.0, 0.0], dtype=torch.float32), atol=1e-3)


def test_ycbcr_of_grey() -> None:
    for v in (0.0, 0.5, 1.0):
        ycc = rgb_to_ycbcr(pixel(v, v, v)).flatten()
        assert torch.allclose(ycc, torch.tensor([v, 0.5, 0.5]), atol=1e-6)


def test_ycbcr_bt601_coefficients() -> None:
    # The JPEG (JFIF) equations:
    #   Y  =  0.299    R + 0.587    G + 0.114    B
    #   Cb = -0.168736 R - 0.331264 G + 0.5      B + 0.5
    #   Cr =  0.5      R - 0.418688 G - 0.081312 B + 0.5
    expected = torch.tensor(
        [
            [0.299, 0.587, 0.114],
            [-0.168736, -0.331264, 0.5],
            [0.5, -0.418688, -0.081312],
        ]
    )
    basis = torch.eye(3).view(3, 3, 1, 1)  # batch of pure red, green and blue pixels
    ycc = rgb_to_ycbcr(basis).view(3, 3)  # row k: YCbCr of primary k
    offset = torch.tensor([0.0, 0.5, 0.5])
    assert torch.allclose(ycc - offset, expected.T, atol=1e-6)
    # and the documented inverse: R = Y + 1.402 (Cr - 0.5), B = Y + 1.772 (Cb - 0.5)
    rgb = ycbcr_to_rgb(pixel(0.4, 0.6, 0.7)).flatten()
    assert math.isclose(rgb[0].item(), 0.4 + 1.402 * 0.2, abs_tol=1e-5)
    assert math.isclose(rgb[2].item(), 0.4 + 1.772 * 0.1, abs_tol=1e-5)
    assert math.isclose(rgb[1].item(), 0.4 - 0.344136 * 0.1 - 0.714136 * 0.2, abs_tol=1e-5)


def test_luminance_is_bt601_luma(tubingen: torch.Tensor) -> None:
    batch = torch.stack([tubingen, 1.0 - tubingen])
    y = luminance(batch)
    assert y.shape == (2, 1, *tubingen.shape[-2:])
    r, g, b = batch.unbind(1)
    assert torch.allclose(y[:, 0], 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-6)
    assert torch.allclose(y, rgb_to_ycbcr(batch)[:, :1], atol=1e-6)
    assert luminance(tubingen).shape == (1, *tubingen.shape[-2:])


def test_lab_to_rgb_does_not_clip() -> None:
    # A saturated blue far outside the sRGB gamut.
    lab = torch.tensor([50.0, 0.0, -120.0]).view(3, 1, 1)
    rgb = lab_to_rgb(lab)
    assert rgb.min() < 0.0 or rgb.max() > 1.0
    assert torch.allclose(rgb_to_lab(rgb), lab, atol=1e-3)


def test_lab_gradients_finite_at_black() -> None:
    rgb = torch.zeros(1, 3, 2, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(rgb_to_lab(rgb).sum(), rgb)
    assert torch.isfinite(grad).all()


def test_conversions_preserve_dtype_and_shape() -> None:
    for dtype in (torch.float32, torch.float64, torch.float16):
        x = torch.rand(2, 3, 5, 4).to(dtype)
        for fn in (rgb_to_ycbcr, ycbcr_to_rgb, rgb_to_lab, lab_to_rgb):
            out = fn(x)
            assert out.dtype == dtype and out.shape == x.shape
        assert luminance(x).dtype == dtype


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(UserInputError):
        rgb_to_lab(torch.rand(4, 5, 5))
    with pytest.raises(UserInputError):
        rgb_to_ycbcr(torch.rand(5, 5))
    with pytest.raises(UserInputError):
        luminance(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


# --- preserve_color -------------------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["ycbcr", "lab"])
def test_preserve_color_takes_luminance_and_chroma(space: str, tubingen: torch.Tensor) -> None:
    # The "stylised" image: the content with its colours rotated and its contrast changed.
    stylized = (tubingen[[2, 0, 1]] * 1.3 - 0.1).clamp(0, 1)
    out = preserve_color(stylized, tubingen, space=space)  # type: ignore[arg-type]
    assert out.shape == stylized.shape and out.dtype == stylized.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0

    to_space, from_space = (rgb_to_ycbcr, ycbcr_to_rgb) if space == "ycbcr" else (rgb_to_lab, lab_to_rgb)
    light, chroma = to_space(stylized)[:1], to_space(tubingen)[1:]
    unclipped = from_space(torch.cat([light, chroma]))
    inside = ((unclipped >= 0) & (unclipped <= 1)).all(dim=0)
    assert inside.float().mean() > 0.5  # the comparison below covers most pixels

    got = to_space(out)
    tol = 1e-4 if space == "ycbcr" else 2e-2  # L*a*b* spans ~100 units, not 1
    assert (got[0][inside] - light[0][inside]).abs().max() < tol
    assert (got[1:][:, inside] - chroma[:, inside]).abs().max() < tol
    # sanity: the stylised image's own chroma is far from the content's
    assert (to_space(stylized)[1:] - chroma).abs().mean() > 10 * tol


@pytest.mark.parametrize("space", ["ycbcr", "lab"])
def test_preserve_color_resizes_content(space: str, starry: torch.Tensor) -> None:
    stylized = starry.unsqueeze(0)  # (1, 3, 80, 128)
    # A flat content colour: any resampling keeps it, so the chroma is known everywhere.
    colour = pixel(0.45, 0.55, 0.5)
    content = colour.expand(3, 57, 41).clone()
    out = preserve_color(stylized, content, space=space)  # type: ignore[arg-type]
    assert out.shape == stylized.shape

    to_space, from_space = (rgb_to_ycbcr, ycbcr_to_rgb) if space == "ycbcr" else (rgb_to_lab, lab_to_rgb)
    light = to_space(stylized)[:, :1]
    chroma = to_space(colour)[1:].expand(1, 2, *stylized.shape[-2:])
    unclipped = from_space(torch.cat([light, chroma], dim=1))[0]
    inside = ((unclipped >= 0) & (unclipped <= 1)).all(dim=0)
    assert inside.float().mean() > 0.5

    got = to_space(out)[0]
    tol = 1e-4 if space == "ycbcr" else 2e-2
    assert (got[1:, inside] - chroma[0][:, inside]).abs().max() < tol
    assert (got[0][inside] - light[0, 0][inside]).abs().max() < tol


def test_preserve_color_real_content_of_other_size(tubingen: torch.Tensor, starry: torch.Tensor) -> None:
    # Stylised image smaller than the content: the result's chroma follows the downscaled content.
    stylized = starry[:, :48, :64]
    out = preserve_color(stylized, tubingen)
    assert out.shape == stylized.shape
    small = torch.nn.functional.interpolate(tubingen[None], size=(48, 64), mode="area")[0]
    err = (rgb_to_ycbcr(out)[1:] - rgb_to_ycbcr(small)[1:]).abs().mean()
    base = (rgb_to_ycbcr(stylized)[1:] - rgb_to_ycbcr(small)[1:]).abs().mean()
    assert err < 0.01 < base


def test_preserve_color_batch_broadcast_and_dtype(tubingen: torch.Tensor) -> None:
    stylized = torch.stack([tubingen.flip(-1), 1.0 - tubingen]).double()
    out = preserve_color(stylized, tubingen)  # content (3, H, W) broadcasts over the batch
    assert out.shape == stylized.shape and out.dtype == torch.float64
    assert torch.allclose(out[0], preserve_color(stylized[0], tubingen))
    with pytest.raises(SettingsError):
        preserve_color(stylized, tubingen, space="hsv")  # type: ignore[arg-type]
    with pytest.raises(UserInputError):
        preserve_color(stylized, torch.stack([tubingen] * 3))


# --- match_color ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style_name", "content_name"), [("starry_night", "tubingen"), ("the_scream", "lion")]
)
def test_match_color_meancov_matches_moments(style_name: str, content_name: str) -> None:
    style, content = load(style_name), load(content_name)
    assert style.shape != content.shape
    out = match_color(style, content)
    assert out.shape == style.shape and out.dtype == torch.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    m_out, c_out = channel_stats(out)
    m_c, c_c = channel_stats(content)
    m_s, c_s = channel_stats(style)
    # Clipping moves the result slightly; the match must still be far closer than the style was.
    assert (m_out - m_c).abs().max() < 2e-3 < (m_s - m_c).abs().max()
    assert (c_out - c_c).abs().max() < 2e-3 < (c_s - c_c).abs().max()


def test_match_color_meancov_is_identity_on_itself(tubingen: torch.Tensor) -> None:
    assert (match_color(tubingen, tubingen) - tubingen).abs().max() < 1e-4


def test_match_color_meancov_exact_without_clipping() -> None:
    # Data that stays inside [0, 1] after matching: the moments then match to float precision.
    g = torch.Generator().manual_seed(3)
    mix = torch.tensor([[1.0, 0.3, 0.0], [0.2, 1.0, 0.1], [0.0, -0.4, 1.0]])
    style = 0.5 + 0.1 * torch.einsum("ij,jhw->ihw", mix, torch.rand(3, 40, 30, generator=g) - 0.5)
    content = 0.4 + 0.15 * torch.rand(3, 25, 35, generator=g)
    out = match_color(style, content)
    assert out.min() > 0.0 and out.max() < 1.0
    m_out, c_out = channel_stats(out)
    m_c, c_c = channel_stats(content)
    assert torch.allclose(m_out, m_c, atol=1e-6)
    assert torch.allclose(c_out, c_c, atol=1e-6)


def test_match_color_histogram_exact_quantiles_without_ties() -> None:
    g = torch.Generator().manual_seed(4)
    style = torch.rand(3, 20, 30, generator=g) ** 2
    content = 0.2 + 0.5 * torch.rand(3, 30, 20, generator=g)  # same number of pixels, other shape
    out = match_color(style, content, method="histogram")
    assert out.shape == style.shape
    assert torch.allclose(out.reshape(3, -1).sort(dim=1).values, content.reshape(3, -1).sort(dim=1).values)
    # order is kept within each channel
    for ch in range(3):
        order = style[ch].flatten().argsort()
        assert (out[ch].flatten()[order].diff() >= 0).all()


@pytest.mark.parametrize(
    ("style_name", "content_name"), [("starry_night", "tubingen"), ("mondrian", "chicago")]
)
def test_match_color_histogram_real_images(style_name: str, content_name: str) -> None:
    style, content = load(style_name), load(content_name)
    assert style.shape != content.shape
    out = match_color(style, content, method="histogram")
    assert out.shape == style.shape
    # Mean distance between quantile functions (1-Wasserstein per channel). 8-bit images have ties,
    # which share a value, so the match is within about half an 8-bit level rather than exact.
    err = (quantiles(out) - quantiles(content)).abs().mean()
    before = (quantiles(style) - quantiles(content)).abs().mean()
    assert err < 1 / 255 < before
    # equal style values stay equal; order is kept
    for ch in range(3):
        s, o = style[ch].flatten(), out[ch].flatten()
        order = s.argsort()
        assert (o[order].diff() >= 0).all()
        tied = o[s == s[0]]
        assert tied.numel() > 1 and (tied == tied[0]).all()


@pytest.mark.parametrize("method", ["meancov", "histogram"])
def test_match_color_flat_content(method: str, starry: torch.Tensor) -> None:
    colour = pixel(0.3, 0.5, 0.7)
    content = colour.expand(3, 10, 12).clone()
    out = match_color(starry, content, method=method)  # type: ignore[arg-type]
    assert torch.isfinite(out).all() and out.shape == starry.shape
    assert (out - colour).abs().max() < 1e-2


@pytest.mark.parametrize("method", ["meancov", "histogram"])
def test_match_color_flat_style(method: str, tubingen: torch.Tensor) -> None:
    style = pixel(0.9, 0.1, 0.1).expand(1, 3, 20, 20).clone()
    out = match_color(style, tubingen, method=method)  # type: ignore[arg-type]
    assert torch.isfinite(out).all() and out.shape == style.shape
    # a flat image stays flat, in a colour taken from the content's distribution
    assert (out - out[..., :1, :1]).abs().max() < 1e-6
    expected = tubingen.mean(dim=(1, 2)) if method == "meancov" else tubingen.flatten(1).quantile(0.5, dim=1)
    assert torch.allclose(out[0, :, 0, 0], expected, atol=1e-3)


@pytest.mark.parametrize("method", ["meancov", "histogram"])
def test_match_color_both_flat_and_single_pixel(method: str) -> None:
    out = match_color(pixel(0.1, 0.2, 0.3), pixel(0.6, 0.5, 0.4), method=method)  # type: ignore[arg-type]
    assert torch.isfinite(out).all()
    assert torch.allclose(out, pixel(0.6, 0.5, 0.4), atol=1e-3)


@pytest.mark.parametrize("method", ["meancov", "histogram"])
def test_match_color_batches_and_dtypes(method: str, starry: torch.Tensor, tubingen: torch.Tensor) -> None:
    styles = torch.stack([starry, starry.flip(-2)]).double()
    out = match_color(styles, tubingen, method=method)  # type: ignore[arg-type]
    assert out.shape == styles.shape and out.dtype == torch.float64
    single = match_color(starry, tubingen, method=method)  # type: ignore[arg-type]
    assert single.shape == starry.shape and single.dtype == torch.float32
    assert torch.allclose(out[0].float(), single, atol=1e-5)
    # a batch of contents against one style: one result per content
    contents = torch.stack([tubingen, tubingen[[2, 1, 0]]])
    per_content = match_color(starry, contents, method=method)  # type: ignore[arg-type]
    assert per_content.shape == (2, *starry.shape)
    assert not torch.allclose(per_content[0], per_content[1])


def test_match_color_rejects_bad_input(starry: torch.Tensor) -> None:
    with pytest.raises(SettingsError):
        match_color(starry, starry, method="median")  # type: ignore[arg-type]
    with pytest.raises(UserInputError):
        match_color(starry, torch.zeros(3, 0, 4))
    with pytest.raises(UserInputError):
        match_color(torch.stack([starry] * 2), torch.stack([starry] * 3))
