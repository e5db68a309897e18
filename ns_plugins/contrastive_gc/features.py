"""Per-Gaussian segmentation features: initialisation and ways to look at them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

FEATURE_KEY = "seg_features"
"""Name of the per-Gaussian parameter (in ``gauss_params``, the optimizers and the checkpoints)."""
PLY_PREFIX = "seg_feature_"
"""PLY property names of the features: seg_feature_0 .. seg_feature_{E-1}."""


def initial_features(num_gaussians: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random unit-variance features [N, E]: distinct directions so the contrastive loss can separate them."""
    return torch.randn(num_gaussians, dim, generator=generator)


def normalize(features: torch.Tensor) -> torch.Tensor:
    """Unit-length features along the last axis ([..., E]); zero vectors stay near zero."""
    return F.normalize(features, dim=-1, eps=1e-6)


def pca_basis(features: torch.Tensor, num_components: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean [E] and the top principal directions [E, num_components] of features [N, E] (normalised first)."""
    f = normalize(features.detach().float())
    mean = f.mean(0)
    cov = (f - mean).T @ (f - mean) / max(1, f.shape[0] - 1)
    _, vecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    return mean, vecs[:, -num_components:].flip(-1)


def pca_colors(image_features: torch.Tensor, mean: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Rendered features [H, W, E] -> RGB [H, W, 3] in [0, 1] along a PCA basis from the Gaussians."""
    proj = (normalize(image_features) - mean) @ basis  # [H, W, 3]
    scale = proj.abs().flatten(0, -2).amax(0).clamp_min(1e-6)
    return (0.5 + 0.5 * proj / scale).clamp(0.0, 1.0)


def palette(num_colors: int) -> torch.Tensor:
    """Distinct colours [num_colors, 3] in [0, 1]; colour 0 is black (no object)."""
    hues = (torch.arange(num_colors, dtype=torch.float32) * 0.61803398875) % 1.0
    h6 = hues[:, None] * 6.0
    k = (torch.tensor([5.0, 3.0, 1.0]) + h6) % 6.0
    rgb = 0.9 - 0.7 * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)  # HSV with s=0.78, v=0.9
    if num_colors:
        rgb[0] = 0.0
    return rgb
