"""Blur synthesis: a blurry photo is the tone-mapped mean of the sharp sub-frames' linear light.

DeblurGS: B = gamma(mean_k gamma^-1(I_k)) with gamma(x) = x^(1/2.2). The sub-frames come from ONE
batched rasterize call (``PortableSplatModel.render_gaussians`` with C = N view matrices).
"""

from __future__ import annotations

import torch

_FLOOR = 1e-10  # keeps x^(1/gamma) differentiable at black (its upstream gradient is 0 there)


def to_linear(rgb: torch.Tensor, gamma: float = 2.2) -> torch.Tensor:
    """Display values [...] in [0, 1] -> linear light."""
    return rgb.clamp_min(0.0) ** gamma


def to_display(linear: torch.Tensor, gamma: float = 2.2) -> torch.Tensor:
    """Linear light [...] -> display values."""
    return linear.clamp_min(_FLOOR) ** (1.0 / gamma)


def synthesize_blur(subframes: torch.Tensor, gamma: float = 2.2) -> torch.Tensor:
    """Sub-frame renders [N, H, W, 3] (display values) -> blurry image [H, W, 3].

    gamma <= 0 averages display values directly (no tone mapping).
    """
    if gamma <= 0:
        return subframes.mean(0)
    return to_display(to_linear(subframes, gamma).mean(0), gamma)
