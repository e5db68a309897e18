"""Spherical-harmonics colours, evaluated outside the rasterizer.

Needed when extra per-Gaussian channels share the rasterize pass with RGB: the
rasterizer then receives plain colours ``[C, N, 3 + E]`` instead of SH coefficients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# real SH basis constants up to degree 3, in the order and signs gsplat/3DGS use
_C0 = 0.28209479177387814
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)


def sh_basis(degree: int, dirs: torch.Tensor) -> torch.Tensor:
    """SH basis values at unit directions.

    Args:
        degree: 0..3.
        dirs: [..., 3] unit vectors.

    Returns:
        [..., (degree + 1) ** 2]
    """
    if not 0 <= degree <= 3:
        raise ValueError(f"SH degree must be 0..3, got {degree}")
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, _C0)]
    if degree >= 1:
        out += [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            _C2[0] * x * y,
            _C2[1] * y * z,
            _C2[2] * (2 * zz - xx - yy),
            _C2[3] * x * z,
            _C2[4] * (xx - yy),
        ]
        if degree >= 3:
            out += [
                _C3[0] * y * (3 * xx - yy),
                _C3[1] * x * y * z,
                _C3[2] * y * (4 * zz - xx - yy),
                _C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
                _C3[4] * x * (4 * zz - xx - yy),
                _C3[5] * z * (xx - yy),
                _C3[6] * x * (xx - 3 * yy),
            ]
    return torch.stack(out, dim=-1)


def sh_colors(degree: int, dirs: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Raw SH expansion along view directions (before gsplat's +0.5 offset and clamp).

    Args:
        degree: active SH degree (0..3); higher coefficients are ignored.
        dirs: [..., 3] view directions (camera to Gaussian), any length.
        coeffs: [..., K, 3] with K >= (degree + 1) ** 2.

    Returns:
        [..., 3]
    """
    num = (degree + 1) ** 2
    basis = sh_basis(degree, F.normalize(dirs, dim=-1))
    return (basis[..., None] * coeffs[..., :num, :]).sum(-2)


def sh_to_rgb(degree: int, dirs: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Colour as gsplat computes it from SH: clamp_min(SH + 0.5, 0). Shapes as :func:`sh_colors`."""
    return torch.clamp_min(sh_colors(degree, dirs, coeffs) + 0.5, 0.0)


def eval_sh_colors(degree: int, means: torch.Tensor, coeffs: torch.Tensor, viewmats: torch.Tensor) -> torch.Tensor:
    """Per-camera colours of Gaussians.

    Args:
        degree: active SH degree.
        means: [N, 3] centres.
        coeffs: [N, K, 3] SH coefficients.
        viewmats: [C, 4, 4] world-to-camera.

    Returns:
        [C, N, 3]
    """
    campos = torch.linalg.inv(viewmats)[:, :3, 3]  # [C, 3]
    dirs = means[None, :, :] - campos[:, None, :]  # [C, N, 3]
    return sh_to_rgb(degree, dirs, coeffs[None].expand(viewmats.shape[0], -1, -1, -1))
