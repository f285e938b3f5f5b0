"""Loss terms of the transfer, as pure functions on float32 tensors.

Every term is a mean rather than a sum, so its size does not depend on the image size: a weight
that looks right at 256 px means the same at 1024 px.
"""

from __future__ import annotations

import torch


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, C, C) Gram matrix normalised by the number of positions H·W."""
    n, c, h, w = features.shape
    flat = features.float().reshape(n, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)


def mean_covariance(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, H, W) → channel means (N, C) and covariance (N, C, C) over positions."""
    n, c, h, w = features.shape
    flat = features.float().reshape(n, c, h * w)
    mean = flat.mean(dim=2)
    centred = flat - mean.unsqueeze(2)
    return mean, torch.bmm(centred, centred.transpose(1, 2)) / (h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of activations (Gatys et al. eq. 1, averaged instead of summed)."""
    return (features.float() - target.float()).pow(2).mean()


def gram_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of Gram matrices (Gatys et al. eq. 4 up to a constant factor)."""
    return (gram_matrix(features) - target_gram).pow(2).mean()


def mean_covariance_loss(
    features: torch.Tensor, target_mean: torch.Tensor, target_covariance: torch.Tensor
) -> torch.Tensor:
    """Squared distance of channel means plus mean squared distance of covariances."""
    mean, covariance = mean_covariance(features)
    return (mean - target_mean).pow(2).mean() + (covariance - target_covariance).pow(2).mean()


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels (the L2 total variation)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.float().pow(2).mean() + dy.float().pow(2).mean()


def _guided(features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flattened features (N, C, P), the mask as weights (N, 1, P), and the weights' sum (N, 1, 1)."""
    n, c, h, w = features.shape
    flat = features.float().reshape(n, c, h * w)
    weights = mask.float().reshape(mask.shape[0], 1, h * w)
    return flat, weights, weights.sum(dim=2, keepdim=True).clamp_min(1e-6)


def guided_gram_matrix(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gram matrix over the positions of a region, each weighted by ``mask`` (N, 1, H, W) in [0, 1]
    (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer", guided Gram)."""
    flat, weights, total = _guided(features, mask)
    return torch.bmm(flat * weights, flat.transpose(1, 2)) / total


def guided_mean_covariance(features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel means (N, C) and covariance (N, C, C) over a region's positions weighted by ``mask``."""
    flat, weights, total = _guided(features, mask)
    mean = (flat * weights).sum(dim=2, keepdim=True) / total
    centred = flat - mean
    return mean.squeeze(2), torch.bmm(centred * weights, centred.transpose(1, 2)) / total
