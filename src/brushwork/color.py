"""Colour spaces and colour control for style transfer.

Images are float tensors of shape ``(N, 3, H, W)`` or ``(3, H, W)`` holding sRGB values in ``[0, 1]``,
on any device. The conversions work on either shape (the channel axis is always ``-3``) and keep the
input's dtype and device.

Two ways to keep the photograph's colours, both from Gatys et al. 2016, "Preserving Color in Neural
Artistic Style Transfer":

* `preserve_color` (luminance-only transfer, applied after stylisation): the luminance of the stylised
  image is combined with the chroma of the content image.
* `match_color` (colour histogram matching, applied to the style image before stylisation): the
  painting is recoloured so that its colour distribution matches the photograph's, so its strokes
  come out in the photograph's palette.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import SettingsError, UserInputError

__all__ = [
    "ColorMatch",
    "ColorSpace",
    "lab_to_rgb",
    "luminance",
    "match_color",
    "preserve_color",
    "rgb_to_lab",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
]

ColorSpace = Literal["ycbcr", "lab"]
ColorMatch = Literal["meancov", "histogram"]

# --- ITU-R BT.601, full range as in JPEG/JFIF -------------------------------------------------------
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_LUMA = torch.tensor([_KR, _KG, _KB], dtype=torch.float64)
# Cb = (B - Y) / (2 (1 - Kb)) + 1/2,  Cr = (R - Y) / (2 (1 - Kr)) + 1/2
_RGB_TO_YCBCR = torch.stack(
    [
        _LUMA,
        (torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64) - _LUMA) / (2.0 * (1.0 - _KB)),
        (torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64) - _LUMA) / (2.0 * (1.0 - _KR)),
    ]
)
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)
_YCBCR_OFFSET = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)

# --- sRGB (IEC 61966-2-1) -> CIE XYZ (D65) -> CIE L*a*b* ----------------------------------------------
_SRGB_TO_XYZ = torch.tensor(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype=torch.float64,
)
# The reference white is the XYZ of sRGB white under this matrix (D65: 0.95047, 1.0, 1.08883), so that
# white maps exactly to L* = 100, a* = b* = 0. Dividing by it is folded into the matrices.
_WHITE = _SRGB_TO_XYZ.sum(dim=1)
_LINEAR_TO_XYZN = _SRGB_TO_XYZ / _WHITE[:, None]
_XYZN_TO_LINEAR = torch.linalg.inv(_LINEAR_TO_XYZN)

_SRGB_KNEE = 0.04045  # encoded value where the sRGB curve switches from linear to power
_LINEAR_KNEE = _SRGB_KNEE / 12.92
_LAB_DELTA = 6.0 / 29.0

# Floor for the eigenvalues of a colour covariance before it is inverted: a variance of 1e-5 is a
# standard deviation of about 0.8 of an 8-bit level, so only (nearly) flat directions are affected.
_COV_EPS = 1e-5


# --- helpers ------------------------------------------------------------------------------------------


def _check_image(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise UserInputError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise UserInputError(f"{name} must have shape (3, H, W) or (N, 3, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise UserInputError(f"{name} must be a floating-point tensor, got {x.dtype}")


def _check_nonempty(x: Tensor, name: str) -> None:
    if x.numel() == 0:
        raise UserInputError(f"{name} is empty (shape {tuple(x.shape)})")


def _compute_dtype(x: Tensor) -> torch.dtype:
    """float32 for half-precision inputs, the input's own dtype otherwise."""
    return torch.promote_types(x.dtype, torch.float32)


def _work_dtype(device: torch.device) -> torch.dtype:
    """float64 for statistics, except on devices without float64 support."""
    return torch.float32 if device.type == "mps" else torch.float64


def _apply_matrix(matrix: Tensor, x: Tensor) -> Tensor:
    """Multiply the colour vector of every pixel of ``x`` (channel axis -3) by a 3x3 matrix."""
    return torch.einsum("ij,...jhw->...ihw", matrix.to(device=x.device, dtype=x.dtype), x)


def _channel_vector(v: Tensor, x: Tensor) -> Tensor:
    """A length-3 vector shaped to broadcast over the channel axis of ``x``."""
    return v.to(device=x.device, dtype=x.dtype).view(3, 1, 1)


def _to_batch(x: Tensor) -> Tensor:
    return x if x.ndim == 4 else x.unsqueeze(0)


def _batch_size(a: Tensor, b: Tensor, a_name: str, b_name: str) -> int:
    na, nb = a.shape[0], b.shape[0]
    if na != nb and 1 not in (na, nb):
        raise UserInputError(f"batch sizes of {a_name} ({na}) and {b_name} ({nb}) differ and neither is 1")
    return max(na, nb)


# --- colour spaces ------------------------------------------------------------------------------------


def rgb_to_ycbcr(rgb: Tensor) -> Tensor:
    """sRGB in ``[0, 1]`` to full-range BT.601 YCbCr (as in JPEG): Y in ``[0, 1]``, Cb/Cr centred at 0.5."""
    _check_image(rgb, "rgb")
    x = rgb.to(_compute_dtype(rgb))
    out = _apply_matrix(_RGB_TO_YCBCR, x) + _channel_vector(_YCBCR_OFFSET, x)
    return out.to(rgb.dtype)


def ycbcr_to_rgb(ycbcr: Tensor) -> Tensor:
    """Inverse of `rgb_to_ycbcr`. The result is not clipped."""
    _check_image(ycbcr, "ycbcr")
    x = ycbcr.to(_compute_dtype(ycbcr))
    out = _apply_matrix(_YCBCR_TO_RGB, x - _channel_vector(_YCBCR_OFFSET, x))
    return out.to(ycbcr.dtype)


def luminance(rgb: Tensor) -> Tensor:
    """BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` with a channel axis of size 1.

    ``(N, 3, H, W)`` gives ``(N, 1, H, W)``; ``(3, H, W)`` gives ``(1, H, W)``.
    """
    _check_image(rgb, "rgb")
    x = rgb.to(_compute_dtype(rgb))
    y = torch.einsum("j,...jhw->...hw", _LUMA.to(device=x.device, dtype=x.dtype), x)
    return y.unsqueeze(-3).to(rgb.dtype)


def _srgb_to_linear(c: Tensor) -> Tensor:
    # Odd extension (sign(c) * f(|c|)) so that values outside [0, 1] round-trip; both branches are
    # evaluated on safe inputs so gradients stay finite at 0.
    a = c.abs()
    power = ((a.clamp(min=_SRGB_KNEE) + 0.055) / 1.055) ** 2.4
    return torch.copysign(torch.where(a <= _SRGB_KNEE, a / 12.92, power), c)


def _linear_to_srgb(c: Tensor) -> Tensor:
    a = c.abs()
    power = 1.055 * a.clamp(min=_LINEAR_KNEE) ** (1.0 / 2.4) - 0.055
    return torch.copysign(torch.where(a <= _LINEAR_KNEE, a * 12.92, power), c)


def _lab_f(t: Tensor) -> Tensor:
    cube = _LAB_DELTA**3
    root = t.clamp(min=cube) ** (1.0 / 3.0)
    return torch.where(t > cube, root, t / (3.0 * _LAB_DELTA**2) + 4.0 / 29.0)


def _lab_f_inv(f: Tensor) -> Tensor:
    return torch.where(f > _LAB_DELTA, f**3, 3.0 * _LAB_DELTA**2 * (f - 4.0 / 29.0))


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in ``[0, 1]`` to CIE L*a*b* (D65 white): L* in ``[0, 100]``, a* and b* roughly in ``[-128, 128]``.

    The sRGB values are linearised with the sRGB transfer curve, taken to CIE XYZ and then to L*a*b*.
    """
    _check_image(rgb, "rgb")
    x = rgb.to(_compute_dtype(rgb))
    xyz_n = _apply_matrix(_LINEAR_TO_XYZN, _srgb_to_linear(x))
    fx, fy, fz = _lab_f(xyz_n).unbind(-3)
    lab = torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)
    return lab.to(rgb.dtype)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """Inverse of `rgb_to_lab`. The result is not clipped: out-of-gamut colours leave ``[0, 1]``."""
    _check_image(lab, "lab")
    x = lab.to(_compute_dtype(lab))
    lightness, a, b = x.unbind(-3)
    fy = (lightness + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=-3)
    linear = _apply_matrix(_XYZN_TO_LINEAR, _lab_f_inv(f))
    return _linear_to_srgb(linear).to(lab.dtype)


# --- luminance-only transfer --------------------------------------------------------------------------


def preserve_color(stylized: Tensor, content: Tensor, space: ColorSpace = "ycbcr") -> Tensor:
    """Keep the content image's colours: luminance of ``stylized``, chroma of ``content``.

    ``space="ycbcr"`` combines Y with CbCr, ``space="lab"`` combines L* with a*b*. The stylised
    luminance is used unchanged. ``content`` is resized (bicubic, antialiased) to the size of
    ``stylized`` if they differ, and a batch of one broadcasts against a larger batch. The result has
    the shape (with the larger batch), dtype and device of ``stylized`` and is clipped to ``[0, 1]``.
    """
    _check_image(stylized, "stylized")
    _check_image(content, "content")
    _check_nonempty(stylized, "stylized")
    _check_nonempty(content, "content")
    if space not in get_args(ColorSpace):
        raise SettingsError(f"space must be one of {get_args(ColorSpace)}, got {space!r}")

    squeeze = stylized.ndim == 3 and content.ndim == 3
    work = _compute_dtype(stylized)
    s = _to_batch(stylized).to(work)
    c = _to_batch(content).to(device=stylized.device, dtype=work)
    n = _batch_size(s, c, "stylized", "content")
    if c.shape[-2:] != s.shape[-2:]:
        c = F.interpolate(c, size=s.shape[-2:], mode="bicubic", align_corners=False, antialias=True)
        c = c.clamp(0.0, 1.0)  # bicubic overshoots at edges

    to_space, from_space = (rgb_to_ycbcr, ycbcr_to_rgb) if space == "ycbcr" else (rgb_to_lab, lab_to_rgb)
    light = to_space(s)[:, :1].expand(n, -1, -1, -1)
    chroma = to_space(c)[:, 1:].expand(n, -1, -1, -1)
    out = from_space(torch.cat([light, chroma], dim=1)).clamp(0.0, 1.0)
    if squeeze:
        out = out.squeeze(0)
    return out.to(stylized.dtype)


# --- colour distribution matching ---------------------------------------------------------------------


def _sym_matrix_power(cov: Tensor, power: float, floor: float) -> Tensor:
    """``cov ** power`` for symmetric positive semi-definite matrices, eigenvalues clamped at ``floor``."""
    decomposition = torch.linalg.eigh(cov)
    evals: Tensor = decomposition.eigenvalues.clamp(min=floor)
    evecs: Tensor = decomposition.eigenvectors
    return (evecs * evals.pow(power).unsqueeze(-2)) @ evecs.transpose(-2, -1)


def _match_meancov(style: Tensor, content: Tensor) -> Tensor:
    """Affine recolouring of ``style`` (N, 3, P) to the mean and covariance of ``content`` (M, 3, Q)."""
    mu_s = style.mean(dim=-1, keepdim=True)
    mu_c = content.mean(dim=-1, keepdim=True)
    ds = style - mu_s
    dc = content - mu_c
    cov_s = ds @ ds.transpose(-2, -1) / ds.shape[-1]
    cov_c = dc @ dc.transpose(-2, -1) / dc.shape[-1]
    # The 3x3 algebra is done on the CPU in float64 (eigh of tiny matrices, and float64 everywhere).
    cpu = torch.device("cpu")
    cov_s64 = cov_s.to(device=cpu, dtype=torch.float64)
    cov_c64 = cov_c.to(device=cpu, dtype=torch.float64)
    # A = C_c^{1/2} C_s^{-1/2}, so that A C_s A^T = C_c. Only C_s is inverted, so only it needs the floor.
    matrix = _sym_matrix_power(cov_c64, 0.5, 0.0) @ _sym_matrix_power(cov_s64, -0.5, _COV_EPS)
    return matrix.to(device=style.device, dtype=style.dtype) @ ds + mu_c


def _match_histogram(style: Tensor, content: Tensor) -> Tensor:
    """Per-channel quantile mapping of ``style`` (N, 3, P) onto the values of ``content`` (M, 3, Q).

    A style value whose (mid-)rank among the P style values is r goes to the content quantile at
    ``r / (P - 1)``, interpolated linearly between the sorted content values. Ties in the style image
    share their mid-rank, so equal style values stay equal (a flat region stays flat); without ties the
    mapped values are exactly the content's quantiles.
    """
    n = max(style.shape[0], content.shape[0])
    p, q = style.shape[-1], content.shape[-1]
    sorted_s = style.sort(dim=-1).values
    query = style.contiguous()
    first = torch.searchsorted(sorted_s, query, right=False)
    last = torch.searchsorted(sorted_s, query, right=True) - 1
    rank = (first + last).to(style.dtype) / 2.0
    quantile = rank / (p - 1) if p > 1 else torch.full_like(rank, 0.5)
    pos = (quantile * (q - 1)).expand(n, -1, -1)
    sorted_c = content.sort(dim=-1).values.expand(n, -1, -1)
    lo = pos.floor().long().clamp(0, q - 1)
    hi = (lo + 1).clamp(max=q - 1)
    frac = pos - lo.to(pos.dtype)
    return torch.lerp(sorted_c.gather(-1, lo), sorted_c.gather(-1, hi), frac)


def match_color(style: Tensor, content: Tensor, method: ColorMatch = "meancov") -> Tensor:
    """Recolour ``style`` so that its colour distribution matches ``content``'s.

    ``method="meancov"``: the affine map ``x' = A (x - mu_s) + mu_c`` with ``A = C_c^{1/2} C_s^{-1/2}``
    (symmetric square roots, style eigenvalues floored at 1e-5), which gives the style image the
    content's channel means and colour covariance (before clipping). ``method="histogram"``: exact
    per-channel histogram matching by quantile mapping (ties in the style image share one value).

    Statistics are computed per image, in float64. ``style`` and ``content`` may differ in spatial
    size; a batch of one broadcasts against a larger batch. The result has the spatial size, dtype
    and device of ``style`` (the larger batch size) and is clipped to ``[0, 1]``.
    """
    _check_image(style, "style")
    _check_image(content, "content")
    _check_nonempty(style, "style")
    _check_nonempty(content, "content")
    if method not in get_args(ColorMatch):
        raise SettingsError(f"method must be one of {get_args(ColorMatch)}, got {method!r}")

    squeeze = style.ndim == 3 and content.ndim == 3
    work = _work_dtype(style.device)
    s4 = _to_batch(style)
    c4 = _to_batch(content)
    _batch_size(s4, c4, "style", "content")
    s = s4.flatten(2).to(work)
    c = c4.flatten(2).to(device=style.device, dtype=work)

    matched = _match_meancov(s, c) if method == "meancov" else _match_histogram(s, c)
    out = matched.clamp(0.0, 1.0).reshape(-1, 3, *s4.shape[-2:]).to(style.dtype)
    if squeeze:
        out = out.squeeze(0)
    return out
