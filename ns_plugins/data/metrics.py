"""Image metrics shared by the methods' benchmarks: PSNR and SSIM on float images in [0, 1].

Images are torch tensors [H, W, 3] (or batched [B, H, W, 3]); nothing here downloads weights.
SSIM uses the standard 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, data range 1,
averaged over the 'valid' region (no padding), like scikit-image's gaussian_weights=True with
use_sample_covariance=False and pytorch_msssim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _as_batch(image: torch.Tensor) -> torch.Tensor:
    """[H, W, C] or [B, H, W, C] -> [B, C, H, W] float."""
    if image.dim() == 3:
        image = image[None]
    if image.dim() != 4:
        raise ValueError(f"expected [H, W, C] or [B, H, W, C], got shape {tuple(image.shape)}")
    return image.permute(0, 3, 1, 2).float()


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB (data range 1) of [H, W, C] (-> scalar) or [B, H, W, C] (-> [B])."""
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch {tuple(pred.shape)} vs {tuple(target.shape)}")
    mse = ((pred.float() - target.float()) ** 2).flatten(-3).mean(-1)
    return -10.0 * torch.log10(mse.clamp_min(1e-12))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 1D Gaussian [size]."""
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filter of x [B, C, H, W] per channel."""
    c = x.shape[1]
    k = window.to(x)
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim(pred: torch.Tensor, target: torch.Tensor, window_size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity of [H, W, C] (-> scalar) or [B, H, W, C] (-> [B]) images in [0, 1].

    Images smaller than the window use a window as large as their smaller side (odd).
    """
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch {tuple(pred.shape)} vs {tuple(target.shape)}")
    batched = pred.dim() == 4
    x, y = _as_batch(pred), _as_batch(target)
    size = min(window_size, x.shape[-1], x.shape[-2])
    size -= 1 - size % 2  # odd
    window = gaussian_window(size, sigma)
    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = _blur(x, window), _blur(y, window)
    sxx = _blur(x * x, window) - mu_x**2
    syy = _blur(y * y, window) - mu_y**2
    sxy = _blur(x * y, window) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    value = ssim_map.flatten(1).mean(1)
    return value if batched else value[0]
