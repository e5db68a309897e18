"""RainyScape's losses on one view: images are [H, W, 3] in [0, 1], angles radians (rain_angle.py).

- ``rain_likelihood``: the rain generator's data term on the residual e = Y - B - R:
  0.1 / (sigma^2 + 1e-6) mean(e^2) + eps2 mean(e^2), sigma = std(e) detached (authors' code).
- ``total_variation``: mean absolute horizontal + vertical differences (the authors' TV on B).
- ``direction_loss``: the adaptive direction-sensitive gradient loss. Along the streaks
  (n_along = (cos a, sin a)) rain barely changes and across them (n_across) it changes a lot;
  the clean image should not change across the rain direction more than it must:
  rain term mean|grad R . n_along| - mean|grad R . n_across|, clean term
  mean|grad B . n_across| + mean|grad (Y - R) . n_across|, weighted 0.5.
"""

from __future__ import annotations

import math

import torch

from ns_plugins.rainyscape.rain_angle import sobel, to_gray

LIKELIHOOD_WEIGHT = 0.1
SIGMA_EPS = 1e-6


def rain_likelihood(
    rainy: torch.Tensor, clean: torch.Tensor, rain: torch.Tensor, eps2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise-normalised term, eps2-scaled MSE) of e = rainy - clean - rain."""
    e = rainy - clean - rain
    sigma = e.detach().flatten().std()
    mse = e.square().mean()
    return LIKELIHOOD_WEIGHT / (sigma**2 + SIGMA_EPS) * mse, eps2 * mse


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """(sum |dx| + sum |dy|) / (H W) of [H, W, C] (the authors' tv1_norm3d)."""
    h, w = image.shape[:2]
    dy = (image[1:] - image[:-1]).abs().sum()
    dx = (image[:, 1:] - image[:, :-1]).abs().sum()
    return (dx + dy) / (h * w)


def directional_derivatives(image: torch.Tensor, angle: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel derivatives of gray(image [H, W, 3]) along (cos a, sin a) and across (-sin a, cos a) -> two [H, W]."""
    gx, gy = sobel(to_gray(image))
    c, s = math.cos(angle), math.sin(angle)
    return gx * c + gy * s, -gx * s + gy * c


def direction_loss(
    rainy: torch.Tensor, clean: torch.Tensor, rain: torch.Tensor, angle: float, clean_weight: float = 0.5
) -> torch.Tensor:
    """Direction-sensitive gradient loss for rain angle ``angle`` (radians, along the streaks)."""
    rain_along, rain_across = directional_derivatives(rain, angle)
    _, clean_across = directional_derivatives(clean, angle)
    _, derained_across = directional_derivatives(rainy - rain, angle)
    rain_term = rain_along.abs().mean() - rain_across.abs().mean()
    clean_term = clean_across.abs().mean() + derained_across.abs().mean()
    return rain_term + clean_weight * clean_term
