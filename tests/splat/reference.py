"""Dense brute-force Gaussian splatting reference for testing the torch backend.

Deliberately plain and independent of ``ns_plugins.splat.torch_backend``: one camera and one
Gaussian at a time, every pixel of the image evaluated for every Gaussian, front to back in depth
order, differentiated by autograd. The only concession to tiling is gsplat's rule that a Gaussian
is only evaluated in the 16x16 tiles its 3-sigma square overlaps (pixels outside those tiles can
still have alpha >= 1/255, and gsplat ignores them there).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

import torch
from torch import Tensor


def quat_to_rotmat(q: Tensor) -> Tensor:
    """wxyz quaternion (any norm) [4] -> rotation [3, 3]."""
    w, x, y, z = q / q.norm()
    return torch.stack(
        [
            torch.stack([1 - 2 * y * y - 2 * z * z, 2 * x * y - 2 * w * z, 2 * x * z + 2 * w * y]),
            torch.stack([2 * x * y + 2 * w * z, 1 - 2 * x * x - 2 * z * z, 2 * y * z - 2 * w * x]),
            torch.stack([2 * x * z - 2 * w * y, 2 * y * z + 2 * w * x, 1 - 2 * x * x - 2 * y * y]),
        ]
    )


def sh_basis(degree: int, d: Tensor) -> Tensor:
    """Real SH bases of a unit direction [3] in Sloan's "fast" form (as gsplat's _torch_impl)."""
    x, y, z = d
    out = [torch.tensor(0.2820947917738781, dtype=d.dtype)]
    if degree >= 1:
        out += [-0.48860251190292 * y, 0.48860251190292 * z, -0.48860251190292 * x]
    if degree >= 2:
        z2 = z * z
        fc1, fs1 = x * x - y * y, 2 * x * y
        out += [
            0.5462742152960395 * fs1,
            -1.092548430592079 * z * y,
            0.9461746957575601 * z2 - 0.3153915652525201,
            -1.092548430592079 * z * x,
            0.5462742152960395 * fc1,
        ]
    if degree >= 3:
        fc2, fs2 = x * fc1 - y * fs1, x * fs1 + y * fc1
        tc = -2.285228997322329 * z2 + 0.4570457994644658
        tb = 1.445305721320277 * z
        out += [
            -0.5900435899266435 * fs2,
            tb * fs1,
            tc * y,
            z * (1.865881662950577 * z2 - 1.119528997770346),
            tc * x,
            tb * fc1,
            -0.5900435899266435 * fc2,
        ]
    return torch.stack(out)


def project_one(mean, cov3, viewmat, K, W, H, eps2d, near, far, radius_clip) -> Optional[Dict[str, Any]]:
    """One Gaussian into one camera. Returns None if culled, else a dict."""
    R, t = viewmat[:3, :3], viewmat[:3, 3]
    p = R @ mean + t
    if float(p[2].detach()) < near or float(p[2].detach()) > far:
        return None
    cov_c = R @ cov3 @ R.T
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    x, y, z = p
    limx_pos = (W - cx) / fx + 0.3 * (W / 2) / fx
    limx_neg = cx / fx + 0.3 * (W / 2) / fx
    limy_pos = (H - cy) / fy + 0.3 * (H / 2) / fy
    limy_neg = cy / fy + 0.3 * (H / 2) / fy
    u = torch.clamp(x / z, -limx_neg, limx_pos)
    v = torch.clamp(y / z, -limy_neg, limy_pos)
    zero = torch.zeros((), dtype=mean.dtype)
    J = torch.stack(
        [
            torch.stack([fx / z, zero, -fx * u / z]),
            torch.stack([zero, fy / z, -fy * v / z]),
        ]
    )
    cov2 = J @ cov_c @ J.T
    det0 = torch.det(cov2)
    cov2 = cov2 + eps2d * torch.eye(2, dtype=mean.dtype)
    det = torch.det(cov2)
    if float(det.detach()) <= 0:
        return None
    conic = torch.inverse(cov2)
    half_trace = 0.5 * (cov2[0, 0] + cov2[1, 1])
    lam = float(half_trace.detach()) + math.sqrt(max(0.01, float((half_trace * half_trace - det).detach())))
    radius = math.ceil(3.0 * math.sqrt(lam))
    m2 = torch.stack([fx * x / z + cx, fy * y / z + cy])
    if radius <= radius_clip:
        return None
    mx, my = (float(v) for v in m2.detach())
    if mx + radius <= 0 or mx - radius >= W or my + radius <= 0 or my - radius >= H:
        return None
    comp = torch.sqrt(torch.clamp_min(det0 / det, 0.0))
    return dict(mean2d=m2, depth=z, conic=conic, radius=radius, comp=comp)


def render(
    means,
    quats,
    scales,
    opacities,
    colors,
    viewmats,
    Ks,
    W,
    H,
    *,
    near_plane=0.01,
    far_plane=1e10,
    radius_clip=0.0,
    eps2d=0.3,
    sh_degree: Optional[int] = None,
    backgrounds: Optional[Tensor] = None,
    render_mode="RGB",
    rasterize_mode="classic",
    tile_size=16,
    covars=None,
) -> Dict:
    """Returns dict(colors [C,H,W,X], alphas [C,H,W,1], radii [C,N], means2d [C][N] (tensors or None),
    deltas: list of (c, g, delta [H,W,2]) with retain_grad for absgrad)."""
    N, C = means.shape[0], viewmats.shape[0]
    dt = means.dtype
    tiles_x, tiles_y = math.ceil(W / tile_size), math.ceil(H / tile_size)
    ys, xs = torch.meshgrid(torch.arange(H, dtype=dt), torch.arange(W, dtype=dt), indexing="ij")
    pix = torch.stack([xs + 0.5, ys + 0.5], dim=-1)  # [H, W, 2]
    tile_of_x, tile_of_y = (xs // tile_size).long(), (ys // tile_size).long()
    out_colors, out_alphas, deltas = [], [], []
    radii = torch.zeros(C, N, dtype=torch.int32)
    means2d = [[None] * N for _ in range(C)]
    for c in range(C):
        proj = []
        for g in range(N):
            if covars is not None:
                cov3 = covars[g]
            else:
                M = quat_to_rotmat(quats[g]) @ torch.diag(scales[g])
                cov3 = M @ M.T
            pr = project_one(means[g], cov3, viewmats[c], Ks[c], W, H, eps2d, near_plane, far_plane, radius_clip)
            if pr is None:
                continue
            radii[c, g] = pr["radius"]
            means2d[c][g] = pr["mean2d"]
            op = opacities[g] * pr["comp"] if rasterize_mode == "antialiased" else opacities[g]
            if sh_degree is None:
                col = colors[g] if colors.dim() == 2 else colors[c, g]
            else:
                campos = torch.inverse(viewmats[c])[:3, 3]
                d = means[g] - campos
                basis = sh_basis(sh_degree, d / d.norm())
                sh = colors[g] if colors.dim() == 3 else colors[c, g]
                col = torch.clamp_min(basis @ sh[: basis.shape[0]] + 0.5, 0.0)
            depth = pr["depth"][None]
            if render_mode in ("D", "ED"):
                col = depth
            elif render_mode in ("RGB+D", "RGB+ED"):
                col = torch.cat([col, depth])
            proj.append((float(pr["depth"].detach()), g, pr, op, col))
        proj.sort(key=lambda e: (e[0], e[1]))  # front to back; ties by index
        X = {"RGB": None, "D": 1, "ED": 1}.get(render_mode)
        if X is None:
            X = (colors.shape[-1] if sh_degree is None else 3) + (1 if "+" in render_mode else 0)
        T = torch.ones(H, W, dtype=dt)
        img = torch.zeros(H, W, X, dtype=dt)
        done = torch.zeros(H, W, dtype=torch.bool)
        for _, g, pr, op, col in proj:
            m2, r = pr["mean2d"], pr["radius"]
            mx, my = (float(v) for v in m2.detach())
            tx0 = min(max(math.floor(mx / tile_size - r / tile_size), 0), tiles_x)
            tx1 = min(max(math.ceil(mx / tile_size + r / tile_size), 0), tiles_x)
            ty0 = min(max(math.floor(my / tile_size - r / tile_size), 0), tiles_y)
            ty1 = min(max(math.ceil(my / tile_size + r / tile_size), 0), tiles_y)
            in_tiles = (tile_of_x >= tx0) & (tile_of_x < tx1) & (tile_of_y >= ty0) & (tile_of_y < ty1)
            delta = m2 - pix  # [H, W, 2]
            delta.retain_grad()
            deltas.append((c, g, delta))
            A, B, Cc = pr["conic"][0, 0], pr["conic"][0, 1], pr["conic"][1, 1]
            dx, dy = delta[..., 0], delta[..., 1]
            sigma = 0.5 * (A * dx * dx + Cc * dy * dy) + B * dx * dy
            alpha = torch.clamp(op * torch.exp(-sigma), max=0.999)
            use = in_tiles & ~done & (sigma >= 0) & (alpha >= 1.0 / 255.0)
            next_T = T * (1 - alpha)
            stop = use & (next_T <= 1e-4)
            done = done | stop
            use = use & ~stop
            img = img + torch.where(use[..., None], (alpha * T)[..., None] * col, torch.zeros_like(img))
            T = torch.where(use, next_T, T)
        alpha_img = (1 - T)[..., None]
        if backgrounds is not None:
            if render_mode in ("D", "ED"):
                bg = torch.zeros(1, dtype=dt)
            elif render_mode in ("RGB+D", "RGB+ED"):
                bg = torch.cat([backgrounds[c], torch.zeros(1, dtype=dt)])
            else:
                bg = backgrounds[c]
            img = img + T[..., None] * bg
        if render_mode in ("ED", "RGB+ED"):
            img = torch.cat([img[..., :-1], img[..., -1:] / alpha_img.clamp(min=1e-10)], dim=-1)
        out_colors.append(img)
        out_alphas.append(alpha_img)
    return dict(
        colors=torch.stack(out_colors), alphas=torch.stack(out_alphas), radii=radii, means2d=means2d, deltas=deltas
    )


def absgrad(ref: Dict, C: int, N: int) -> Tensor:
    """After backward: sum over pixels of |dL/d means2d| per pixel -> [C, N, 2]."""
    out = torch.zeros(C, N, 2, dtype=torch.float64)
    for c, g, delta in ref["deltas"]:
        if delta.grad is not None:
            out[c, g] += delta.grad.abs().sum(dim=(0, 1))
    return out
