"""The guided filter (He, Sun and Tang, *Guided Image Filtering*, 2010/2013): a mask found at low
resolution, upsampled, is made to follow the edges of the full-resolution photo, so that hair and fine
edges do not carry a blurred halo of the background. Box filters only (cv2.boxFilter), so its cost does
not depend on the radius; the colour-guided form, whose 3x3 covariance per pixel tells apart edges
that differ in hue but not in brightness.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def _mean(values: FloatArray, radius: int) -> FloatArray:
    side = 2 * radius + 1
    return np.asarray(
        cv2.boxFilter(values, -1, (side, side), normalize=True, borderType=cv2.BORDER_REFLECT),
        dtype=np.float32,
    )


def guided_filter(guide: npt.NDArray[np.floating], source: FloatArray, radius: int, eps: float) -> FloatArray:
    """``source`` (H, W) filtered so that its edges follow those of ``guide`` ((H, W, 3) RGB in [0, 1]).

    ``radius`` is the half-width of the window in pixels; ``eps`` the regularisation (larger: smoother,
    less edge-following; on [0, 1] colours 1e-4 to 1e-2 are typical)."""
    if guide.ndim != 3 or guide.shape[2] != 3 or guide.shape[:2] != source.shape:
        raise ValueError(f"need a guide (H, W, 3) and a source (H, W), not {guide.shape}, {source.shape}")
    if radius < 1 or eps <= 0:
        raise ValueError(f"radius must be at least 1 and eps above 0, not {radius}, {eps}")
    image = np.ascontiguousarray(guide, dtype=np.float32)
    p = np.ascontiguousarray(source, dtype=np.float32)
    channels = [np.ascontiguousarray(image[..., c]) for c in range(3)]
    mean_i = [_mean(c, radius) for c in channels]
    mean_p = _mean(p, radius)
    cov_ip = np.stack([_mean(c * p, radius) - m * mean_p for c, m in zip(channels, mean_i, strict=True)], -1)
    sigma = np.empty((*p.shape, 3, 3), np.float32)
    for a in range(3):
        for b in range(a, 3):
            value = _mean(channels[a] * channels[b], radius) - mean_i[a] * mean_i[b]
            sigma[..., a, b] = sigma[..., b, a] = value
    sigma += eps * np.eye(3, dtype=np.float32)
    a_coef = np.linalg.solve(sigma, cov_ip[..., None])[..., 0]  # (H, W, 3)
    b_coef = mean_p - np.einsum("hwc,chw->hw", a_coef, np.stack(mean_i))
    mean_a = np.stack([_mean(np.ascontiguousarray(a_coef[..., c]), radius) for c in range(3)], -1)
    out = np.einsum("hwc,hwc->hw", mean_a, image) + _mean(np.ascontiguousarray(b_coef), radius)
    return np.asarray(out, dtype=np.float32)
