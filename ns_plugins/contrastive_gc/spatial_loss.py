"""Spatial regularisation of per-Gaussian features (the authors' 3D term, without self-neighbours).

A random sample of Gaussians; in it, each Gaussian's k nearest neighbours (itself excluded) are
pulled towards its feature and its k farthest pushed away:
0.05 sigmoid(1 - mean cos(near)) + 0.15 sigmoid(mean cos(far)).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def neighbour_indices(points: torch.Tensor, k_near: int, k_far: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest and farthest neighbours within a point set, never the point itself.

    Args:
        points: [S, 3] positions.

    Returns:
        near [S, k_near], far [S, k_far] indices into ``points``.
    """
    dist = torch.cdist(points, points)  # [S, S]
    eye = torch.eye(len(points), dtype=torch.bool, device=points.device)
    near = dist.masked_fill(eye, float("inf")).topk(k_near, dim=1, largest=False).indices
    far = dist.masked_fill(eye, -1.0).topk(k_far, dim=1, largest=True).indices
    return near, far


def spatial_regularization(
    means: torch.Tensor,
    features: torch.Tensor,
    num_samples: int = 1000,
    k_near: int = 2,
    k_far: int = 5,
    near_weight: float = 0.05,
    far_weight: float = 0.15,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Spatial term on ``num_samples`` random Gaussians.

    Args:
        means: [N, 3] Gaussian centres (positions are not optimised by this term).
        features: [N, E] per-Gaussian features.

    Returns:
        Scalar loss (zero with a graph when there are too few Gaussians).
    """
    n = means.shape[0]
    if n < k_far + 2 or n < k_near + 2:
        return features.sum() * 0.0
    sample = torch.randperm(n, device=means.device, generator=generator)[: min(num_samples, n)]
    points = means[sample].detach()
    f = F.normalize(features[sample], dim=-1, eps=1e-6)  # [S, E]
    near, far = neighbour_indices(points, min(k_near, len(sample) - 1), min(k_far, len(sample) - 1))
    cos_near = (f[:, None, :] * f[near]).sum(-1).mean()
    cos_far = (f[:, None, :] * f[far]).sum(-1).mean()
    return near_weight * torch.sigmoid(1.0 - cos_near) + far_weight * torch.sigmoid(cos_far)
