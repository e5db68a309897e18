"""Pure-PyTorch 3D Gaussian rasterization with gsplat 1.4.0's interface.

``rasterization`` takes the same arguments and returns the same ``(render_colors, render_alphas,
meta)`` as ``gsplat.rendering.rasterization``, with the numbers of gsplat's CUDA kernels
(``fully_fused_projection_fwd.cu``, ``isect_tiles.cu``, ``rasterize_to_pixels_fwd/bwd.cu``):

1. projection (EWA splatting): radii, means2d, depths, conics;
2. tile intersection: each Gaussian is binned to the tiles its 3-sigma box overlaps, intersections
   sorted by (camera, tile, depth) exactly as gsplat's ``isect_ids``;
3. compositing per tile, front to back, with a custom autograd backward.

On CPU all three run in C++ kernels (``csrc/``, built on first use by ``build_kernels``) with
hand-written backward passes. Elsewhere, or when no compiler exists, or with
``NS_PLUGINS_RASTER_KERNEL=torch``, the same steps run in torch: projection by autograd, binning by
a global sort, compositing vectorized over padded per-tile batches.
"""

from __future__ import annotations

import ctypes
import math
import os
import warnings
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import Tensor
from typing_extensions import Literal

from . import build_kernels
from .geometry import quat_to_rotmat
from .sh import sh_colors

KERNEL_ENV = "NS_PLUGINS_RASTER_KERNEL"
_ALPHA_MAX = 0.999
_ALPHA_MIN = 1.0 / 255.0
_T_MIN = 1e-4

_warned_fallback = False


def _kernel_lib() -> ctypes.CDLL:
    """The loaded C++ kernel library: only called on the C++ path, which :func:`_kernel_choice` takes when it loads."""
    lib = build_kernels.load()
    assert lib is not None, "the C++ kernel path runs only when the kernel library loaded"
    return lib


# --------------------------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------------------------


def _quat_scale_to_covar(quats: Tensor, scales: Tensor) -> Tensor:
    """World-space covariances R S S^T R^T from (unnormalised, wxyz) quats [N, 4] and scales
    [N, 3]. Returns [N, 3, 3]."""
    R = quat_to_rotmat(quats)  # [N, 3, 3]
    M = R * scales[:, None, :]
    return M @ M.transpose(-1, -2)


def _project(
    means: Tensor,  # [N, 3]
    covars: Tensor,  # [N, 3, 3]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    eps2d: float,
    near_plane: float,
    far_plane: float,
    radius_clip: float,
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """EWA projection of 3D Gaussians to every camera (gsplat's pinhole ``persp_proj``).

    Returns radii [C, N] int32, means2d [C, N, 2], depths [C, N], conics [C, N, 3] and
    compensations [C, N]; culled entries (radius 0) are zero and get no gradient.
    """
    R, t = viewmats[:, :3, :3], viewmats[:, :3, 3]
    means_c = torch.einsum("cij,nj->cni", R, means) + t[:, None, :]  # [C, N, 3]
    covars_c = torch.einsum("cij,njk,clk->cnil", R, covars, R)  # [C, N, 3, 3]
    x, y, z = means_c.unbind(-1)
    in_depth = (z >= near_plane) & (z <= far_plane)
    # "double where": culled entries compute on safe values so their gradients stay finite
    z = torch.where(in_depth, z, torch.ones_like(z))

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [C, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    # clamp the Jacobian's view direction to the fov plus a 0.3 tan margin (as gsplat)
    lim_x_pos, lim_x_neg = (width - cx) / fx + 0.3 * tan_fovx, cx / fx + 0.3 * tan_fovx
    lim_y_pos, lim_y_neg = (height - cy) / fy + 0.3 * tan_fovy, cy / fy + 0.3 * tan_fovy
    tx = z * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x / z))
    ty = z * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y / z))
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / (z * z), zero, fy / z, -fy * ty / (z * z)], dim=-1).reshape(
        *z.shape, 2, 3
    )  # [C, N, 2, 3]
    cov2d = J @ covars_c @ J.transpose(-1, -2)  # [C, N, 2, 2]
    mean2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)  # [C, N, 2]

    a, b, c = cov2d[..., 0, 0], cov2d[..., 0, 1], cov2d[..., 1, 1]
    det_orig = a * c - b * b
    a, c = a + eps2d, c + eps2d  # eps2d blur: a minimum footprint of ~1 px
    det = a * c - b * b
    valid = in_depth & (det > 0)
    det = torch.where(valid, det, torch.ones_like(det))
    conics = torch.stack([c / det, -b / det, a / det], dim=-1)  # inverse of the blurred cov2d
    ratio = det_orig / det
    ratio_ok = valid & (ratio > 0)
    comp = torch.where(ratio_ok, torch.sqrt(torch.where(ratio_ok, ratio, torch.ones_like(ratio))), zero)

    with torch.no_grad():  # radius = 3 sigma of the major axis (not differentiable)
        half_trace = 0.5 * (a + c)
        v1 = half_trace + torch.sqrt(torch.clamp_min(half_trace * half_trace - det, 0.01))
        radius = torch.ceil(3.0 * torch.sqrt(v1))
        mx, my = mean2d[..., 0], mean2d[..., 1]
        off_screen = (mx + radius <= 0) | (mx - radius >= width) | (my + radius <= 0) | (my - radius >= height)
        valid = valid & (radius > radius_clip) & ~off_screen
        radii = torch.where(valid, radius, torch.zeros_like(radius)).to(torch.int32)

    means2d = torch.where(valid[..., None], mean2d, torch.zeros_like(mean2d))
    depths = torch.where(valid, means_c[..., 2], zero)
    conics = torch.where(valid[..., None], conics, torch.zeros_like(conics))
    comp = torch.where(valid, comp, zero)
    return radii, means2d, depths, conics, comp


class _ProjectCpp(torch.autograd.Function):
    """:func:`_project` in the C++ kernel (gsplat's ``fully_fused_projection`` with its backward).

    No gradient reaches ``Ks`` (as in gsplat); callers use :func:`_project` when Ks need one.
    """

    @staticmethod
    def forward(ctx, means, covars, viewmats, Ks, width, height, eps2d, near_plane, far_plane, radius_clip):
        C, N = viewmats.shape[0], means.shape[0]
        lib = _kernel_lib()
        fn = lib.ns_project_fwd_f64 if means.dtype == torch.float64 else lib.ns_project_fwd_f32
        radii = torch.empty(C, N, dtype=torch.int32)
        means2d, depths = means.new_empty(C, N, 2), means.new_empty(C, N)
        conics, comp = means.new_empty(C, N, 3), means.new_empty(C, N)
        fn(
            C,
            N,
            _ptr(means),
            _ptr(covars),
            _ptr(viewmats),
            _ptr(Ks),
            width,
            height,
            eps2d,
            near_plane,
            far_plane,
            radius_clip,
            _ptr(radii),
            _ptr(means2d),
            _ptr(depths),
            _ptr(conics),
            _ptr(comp),
            _num_threads(),
        )
        ctx.save_for_backward(means, covars, viewmats, Ks, radii, conics, comp)
        ctx.width, ctx.height, ctx.eps2d = width, height, eps2d
        ctx.mark_non_differentiable(radii)
        return radii, means2d, depths, conics, comp

    @staticmethod
    def backward(ctx, v_radii, v_means2d, v_depths, v_conics, v_comp):
        means, covars, viewmats, Ks, radii, conics, comp = ctx.saved_tensors
        C, N = viewmats.shape[0], means.shape[0]
        lib = _kernel_lib()
        fn = lib.ns_project_bwd_f64 if means.dtype == torch.float64 else lib.ns_project_bwd_f32
        zeros = lambda t, like: torch.zeros_like(like) if t is None else t.contiguous()  # noqa: E731
        v_means2d, v_depths = zeros(v_means2d, conics[..., :2]), zeros(v_depths, comp)
        v_conics = zeros(v_conics, conics)
        v_comp = None if v_comp is None else v_comp.contiguous()
        v_means, v_covars = torch.empty_like(means), torch.empty_like(covars)
        v_viewmats = torch.empty_like(viewmats) if ctx.needs_input_grad[2] else None
        fn(
            C,
            N,
            _ptr(means),
            _ptr(covars),
            _ptr(viewmats),
            _ptr(Ks),
            ctx.width,
            ctx.height,
            ctx.eps2d,
            _ptr(radii),
            _ptr(conics),
            _ptr(comp),
            _ptr(v_means2d),
            _ptr(v_depths),
            _ptr(v_conics),
            _ptr(v_comp),
            _ptr(v_means),
            _ptr(v_covars),
            _ptr(v_viewmats),
            _num_threads(),
        )
        return v_means, v_covars, v_viewmats, None, None, None, None, None, None, None


class _SHColorsCpp(torch.autograd.Function):
    """Colours [C, N, 3] = clamp_min(SH(dirs) + 0.5, 0), 0.5 where culled, in the C++ kernel.

    dirs [C, N, 3] (camera to Gaussian, any length); coeffs [N, K, 3] or [C, N, K, 3]; radii [C, N].
    """

    @staticmethod
    def forward(ctx, degree, dirs, coeffs, radii):
        C, N = radii.shape
        K = coeffs.shape[-2]
        stride = N * K * 3 if coeffs.dim() == 4 else 0
        lib = _kernel_lib()
        fn = lib.ns_sh_fwd_f64 if dirs.dtype == torch.float64 else lib.ns_sh_fwd_f32
        colors = dirs.new_empty(C, N, 3)
        radii = radii.contiguous()  # kept referenced: the kernel reads its memory
        fn(C, N, K, degree, _ptr(dirs), _ptr(coeffs), stride, _ptr(radii), _ptr(colors), _num_threads())
        ctx.save_for_backward(dirs, coeffs, radii, colors)
        ctx.degree, ctx.stride = degree, stride
        return colors

    @staticmethod
    def backward(ctx, v_colors):
        dirs, coeffs, radii, colors = ctx.saved_tensors
        C, N = radii.shape
        lib = _kernel_lib()
        fn = lib.ns_sh_bwd_f64 if dirs.dtype == torch.float64 else lib.ns_sh_bwd_f32
        v_coeffs = torch.empty_like(coeffs)
        v_dirs = torch.empty_like(dirs) if ctx.needs_input_grad[1] else None
        v_colors = v_colors.contiguous()  # kept referenced: a temporary's memory would be freed before the call
        fn(
            C,
            N,
            coeffs.shape[-2],
            ctx.degree,
            _ptr(dirs),
            _ptr(coeffs),
            ctx.stride,
            _ptr(radii),
            _ptr(colors),
            _ptr(v_colors),
            _ptr(v_coeffs),
            _ptr(v_dirs),
            _num_threads(),
        )
        return None, v_dirs, v_coeffs, None


# --------------------------------------------------------------------------------------------
# tile intersection
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def _isect_tiles_cpp(
    means2d: Tensor,  # [C, N, 2]
    radii: Tensor,  # [C, N]
    depths: Tensor,  # [C, N]
    tile_size: int,
    tile_width: int,
    tile_height: int,
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`_isect_tiles` in the C++ kernel (same outputs, bit for bit)."""
    C, N = radii.shape
    lib = _kernel_lib()
    f64 = means2d.dtype == torch.float64
    means2d, radii, depths = means2d.detach().contiguous(), radii.contiguous(), depths.detach().contiguous()
    tiles_per_gauss = torch.empty(C, N, dtype=torch.int32)
    count = lib.ns_isect_count_f64 if f64 else lib.ns_isect_count_f32
    m = count(
        C * N, _ptr(means2d), _ptr(radii), tile_size, tile_width, tile_height, _ptr(tiles_per_gauss), _num_threads()
    )
    isect_ids = torch.empty(m, dtype=torch.int64)
    flatten_ids = torch.empty(m, dtype=torch.int32)
    isect_offsets = torch.empty(C, tile_height, tile_width, dtype=torch.int32)
    fill = lib.ns_isect_fill_f64 if f64 else lib.ns_isect_fill_f32
    fill(
        C,
        N,
        _ptr(means2d),
        _ptr(radii),
        _ptr(depths),
        tile_size,
        tile_width,
        tile_height,
        m,
        _ptr(isect_ids),
        _ptr(flatten_ids),
        _ptr(isect_offsets),
        _num_threads(),
    )
    return tiles_per_gauss, isect_ids, flatten_ids, isect_offsets


@torch.no_grad()
def _isect_tiles(
    means2d: Tensor,  # [C, N, 2]
    radii: Tensor,  # [C, N]
    depths: Tensor,  # [C, N]
    tile_size: int,
    tile_width: int,
    tile_height: int,
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bin Gaussians to the tiles their 3-sigma box overlaps (gsplat's ``isect_tiles`` and
    ``isect_offset_encode``).

    Returns tiles_per_gauss [C, N] int32, isect_ids [M] int64 (camera | tile | depth bits, sorted),
    flatten_ids [M] int32 (index into C*N, front to back per tile) and isect_offsets
    [C, tile_height, tile_width] int32 (first intersection of each tile).
    """
    C, N = radii.shape
    device = means2d.device
    r = radii.reshape(-1).to(means2d.dtype) / tile_size
    xy = means2d.detach().reshape(-1, 2) / tile_size
    x0 = torch.floor(xy[:, 0] - r).clamp(0, tile_width).long()
    x1 = torch.ceil(xy[:, 0] + r).clamp(0, tile_width).long()
    y0 = torch.floor(xy[:, 1] - r).clamp(0, tile_height).long()
    y1 = torch.ceil(xy[:, 1] + r).clamp(0, tile_height).long()
    visible = radii.reshape(-1) > 0
    nx = torch.where(visible, x1 - x0, 0)
    counts = torch.where(visible, nx * (y1 - y0), 0)  # [C*N]

    ids = torch.repeat_interleave(torch.arange(C * N, device=device), counts)  # [M]
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(ids.numel(), device=device) - first[ids]
    tile_x = x0[ids] + local % nx[ids].clamp_min(1)
    tile_y = y0[ids] + local // nx[ids].clamp_min(1)
    tile_id = tile_y * tile_width + tile_x
    n_tiles = tile_width * tile_height
    tile_n_bits = int(math.floor(math.log2(n_tiles))) + 1
    # depth enters the key as the bit pattern of a float32 (positive floats sort like their bits)
    depth_bits = depths.detach().reshape(-1).float().view(torch.int32).long()[ids] & 0xFFFFFFFF
    cam = ids // max(N, 1)
    isect_ids = (cam << (32 + tile_n_bits)) | (tile_id << 32) | depth_bits
    isect_ids, order = torch.sort(isect_ids, stable=True)  # ties: Gaussian index, as cub's sort
    flatten_ids = ids[order].to(torch.int32)

    tile_keys = (cam * n_tiles + tile_id)[order]
    isect_offsets = torch.searchsorted(tile_keys, torch.arange(C * n_tiles, device=device))
    isect_offsets = isect_offsets.to(torch.int32).reshape(C, tile_height, tile_width)
    return counts.reshape(C, N).to(torch.int32), isect_ids, flatten_ids, isect_offsets


# --------------------------------------------------------------------------------------------
# compositing
# --------------------------------------------------------------------------------------------


def _kernel_choice(device: torch.device, dtype: torch.dtype) -> str:
    """'cpp' (C++ kernel) or 'torch' (vectorized fallback) for these tensors."""
    global _warned_fallback
    mode = os.environ.get(KERNEL_ENV, "auto").lower()
    if mode == "torch" or device.type != "cpu" or dtype not in (torch.float32, torch.float64):
        return "torch"
    if build_kernels.load() is not None:
        return "cpp"
    if mode == "cpp":
        raise RuntimeError(f"{KERNEL_ENV}=cpp but the kernel is unavailable: {build_kernels.load_error()}")
    if not _warned_fallback:
        warnings.warn(
            f"ns_plugins: C++ rasterization kernel unavailable ({build_kernels.load_error()}); "
            "using the slower pure-torch compositing"
        )
        _warned_fallback = True
    return "torch"


def _num_threads() -> int:
    """Kernel threads: ``$NS_PLUGINS_RASTER_THREADS`` or torch's intra-op thread count."""
    env = os.environ.get("NS_PLUGINS_RASTER_THREADS")
    return max(1, int(env)) if env else torch.get_num_threads()


def _ptr(t: Optional[Tensor]) -> Optional[int]:
    return None if t is None else t.data_ptr()


def _cpp_forward(
    means2d, conics, colors, opacities, backgrounds, width, height, tile_size, isect_offsets, flatten_ids
) -> Tuple[Tensor, Tensor, Tensor]:
    """C++ forward: render_colors [C, H, W, D], render_alphas [C, H, W, 1], last_ids [C, H, W]."""
    C, N, D = colors.shape
    lib = _kernel_lib()
    fn = lib.ns_rasterize_fwd_f64 if colors.dtype == torch.float64 else lib.ns_rasterize_fwd_f32
    out_colors = colors.new_empty(C, height, width, D)
    out_alphas = colors.new_empty(C, height, width, 1)
    last_ids = torch.empty(C, height, width, dtype=torch.int32)
    th, tw = isect_offsets.shape[1:]
    fn(
        C,
        D,
        width,
        height,
        tile_size,
        tw,
        th,
        flatten_ids.numel(),
        _ptr(means2d),
        _ptr(conics),
        _ptr(colors),
        _ptr(opacities),
        _ptr(backgrounds),
        _ptr(isect_offsets),
        _ptr(flatten_ids),
        _ptr(out_colors),
        _ptr(out_alphas),
        _ptr(last_ids),
        _num_threads(),
    )
    return out_colors, out_alphas, last_ids


def _cpp_backward(ctx, v_render_colors: Tensor, v_render_alphas: Tensor):
    """C++ backward: gradients per Gaussian [C, N, ...] (the kernel sums its intersections)."""
    means2d, conics, colors, opacities, backgrounds, isect_offsets, flatten_ids, render_alphas, last_ids = (
        ctx.saved_tensors
    )
    C, N, D = colors.shape
    M = flatten_ids.numel()
    lib = _kernel_lib()
    fn = lib.ns_rasterize_bwd_f64 if colors.dtype == torch.float64 else lib.ns_rasterize_bwd_f32
    v_xy = torch.zeros_like(means2d)
    v_xy_abs = torch.zeros_like(means2d) if ctx.absgrad else None
    v_conic, v_col, v_op = torch.zeros_like(conics), torch.zeros_like(colors), torch.zeros_like(opacities)
    th, tw = isect_offsets.shape[1:]
    fn(
        C,
        D,
        ctx.width,
        ctx.height,
        ctx.tile_size,
        tw,
        th,
        M,
        _ptr(means2d),
        _ptr(conics),
        _ptr(colors),
        _ptr(opacities),
        _ptr(backgrounds),
        _ptr(isect_offsets),
        _ptr(flatten_ids),
        _ptr(render_alphas),
        _ptr(last_ids),
        _ptr(v_render_colors),
        _ptr(v_render_alphas),
        _ptr(v_xy),
        _ptr(v_xy_abs),
        _ptr(v_conic),
        _ptr(v_col),
        _ptr(v_op),
        _num_threads(),
    )
    return v_xy, v_conic, v_col, v_op, v_xy_abs


def _composite_torch(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    colors: Tensor,  # [C, N, D]
    opacities: Tensor,  # [C, N]
    backgrounds: Optional[Tensor],  # [C, D]
    width: int,
    height: int,
    tile_size: int,
    isect_offsets: Tensor,  # [C, th, tw]
    flatten_ids: Tensor,  # [M]
    delta_hook: Optional[Callable[[Tensor, Tensor], None]] = None,
    budget: int = 1 << 21,
    stats: Optional[Dict[str, int]] = None,
) -> Tuple[Tensor, Tensor]:
    """Vectorized torch compositing, differentiable by autograd (the fallback path).

    Tiles are processed in batches, each tile's front-to-back Gaussian list padded to the batch's
    longest, so the work grows with intersections x tile pixels. ``delta_hook(delta, gids)``
    receives each batch's per-pixel offsets [B, P, K, 2] and their Gaussian ids [B, K] (absgrad).
    ``stats`` (benchmarks) accumulates "evaluated" (Gaussian-pixel pairs scanned before each pixel
    terminated) and "composited" (pairs actually blended).
    Returns render_colors [C, H, W, D] and render_alphas [C, H, W, 1].
    """
    C, N, D = colors.shape
    th, tw = isect_offsets.shape[1:]
    P, device = tile_size * tile_size, colors.device
    starts = isect_offsets.reshape(-1).long()
    ends = torch.cat([starts[1:], starts.new_tensor([flatten_ids.numel()])])
    counts = ends - starts
    out_c = colors.new_zeros(C * height * width, D)
    out_a = colors.new_zeros(C * height * width)
    # pixel grid of one tile, offsets (dy, dx)
    py, px = torch.meshgrid(
        torch.arange(tile_size, device=device), torch.arange(tile_size, device=device), indexing="ij"
    )
    py, px = py.reshape(-1), px.reshape(-1)

    busy = torch.nonzero(counts > 0).flatten()
    busy = busy[torch.argsort(counts[busy], stable=True)]  # similar lengths share a batch
    cnt_list, i = counts[busy].tolist(), 0
    flat_means, flat_conics = means2d.reshape(-1, 2), conics.reshape(-1, 3)
    flat_colors, flat_opac = colors.reshape(-1, D), opacities.reshape(-1)
    while i < len(cnt_list):
        j = i + 1  # tiles are sorted by count: grow the batch while it fits the budget
        while j < len(cnt_list) and (j - i + 1) * P * cnt_list[j] <= budget:
            j += 1
        tiles = busy[i:j]
        K = cnt_list[j - 1]
        i = j
        slot = torch.arange(K, device=device)
        in_list = slot[None, :] < counts[tiles][:, None]  # [B, K]
        isect = (starts[tiles][:, None] + slot[None, :]).clamp_max(max(flatten_ids.numel() - 1, 0))
        gids = torch.where(in_list, flatten_ids.long()[isect], 0)  # [B, K]
        cam, t = tiles // (th * tw), tiles % (th * tw)
        ys = (t // tw)[:, None] * tile_size + py[None, :]  # [B, P]
        xs = (t % tw)[:, None] * tile_size + px[None, :]
        pix = torch.stack([xs, ys], dim=-1).to(colors.dtype) + 0.5  # [B, P, 2]

        delta = flat_means[gids][:, None, :, :] - pix[:, :, None, :]  # [B, P, K, 2]
        if delta_hook is not None:
            delta_hook(delta, gids)
        con = flat_conics[gids][:, None]  # [B, 1, K, 3]
        dx, dy = delta[..., 0], delta[..., 1]
        sigma = 0.5 * (con[..., 0] * dx * dx + con[..., 2] * dy * dy) + con[..., 1] * dx * dy
        alpha = torch.clamp_max(flat_opac[gids][:, None] * torch.exp(-sigma), _ALPHA_MAX)
        valid = (sigma >= 0) & (alpha >= _ALPHA_MIN) & in_list[:, None, :]
        alpha = torch.where(valid, alpha, torch.zeros_like(alpha))
        with torch.no_grad():  # stop before the Gaussian that takes T to <= 1e-4
            keep = torch.cumprod(1 - alpha, dim=-1) > _T_MIN
        alpha = torch.where(keep, alpha, torch.zeros_like(alpha))
        trans = torch.cumprod(1 - alpha, dim=-1)  # [B, P, K], T after each Gaussian
        t_before = torch.cat([torch.ones_like(trans[..., :1]), trans[..., :-1]], dim=-1)
        weights = alpha * t_before
        if stats is not None:
            inside_px = (ys < height) & (xs < width)  # [B, P]
            stopped = (~keep).any(-1)  # keep is monotone: True up to the stopping Gaussian
            scanned = torch.where(stopped, keep.sum(-1) + 1, counts[tiles][:, None])
            stats["evaluated"] = stats.get("evaluated", 0) + int(scanned[inside_px].sum())
            stats["composited"] = stats.get("composited", 0) + int((alpha > 0)[inside_px].sum())
        rgb = weights @ flat_colors[gids]  # [B, P, D]

        inside = (ys < height) & (xs < width)
        lin = ((cam[:, None] * height + ys) * width + xs)[inside]
        out_c = out_c.index_put((lin,), rgb[inside])
        out_a = out_a.index_put((lin,), 1 - trans[..., -1][inside])
    out_c = out_c.reshape(C, height, width, D)
    out_a = out_a.reshape(C, height, width, 1)
    if backgrounds is not None:
        out_c = out_c + (1 - out_a) * backgrounds[:, None, None, :]
    return out_c, out_a


class _RasterizeToPixels(torch.autograd.Function):
    """Tile compositing with a custom backward (gsplat's ``_RasterizeToPixels``)."""

    @staticmethod
    def forward(
        ctx,
        means2d,
        conics,
        colors,
        opacities,
        backgrounds,
        width,
        height,
        tile_size,
        isect_offsets,
        flatten_ids,
        absgrad,
        kernel,
        absgrad_sink,
    ):
        ctx.width, ctx.height, ctx.tile_size = width, height, tile_size
        ctx.absgrad, ctx.kernel, ctx.absgrad_sink = absgrad, kernel, absgrad_sink
        ctx.has_bg = backgrounds is not None
        if kernel == "cpp":
            render_colors, render_alphas, last_ids = _cpp_forward(
                means2d, conics, colors, opacities, backgrounds, width, height, tile_size, isect_offsets, flatten_ids
            )
            ctx.save_for_backward(
                means2d, conics, colors, opacities, backgrounds, isect_offsets, flatten_ids, render_alphas, last_ids
            )
        else:
            render_colors, render_alphas = _composite_torch(
                means2d, conics, colors, opacities, backgrounds, width, height, tile_size, isect_offsets, flatten_ids
            )
            ctx.save_for_backward(
                means2d, conics, colors, opacities, backgrounds, isect_offsets, flatten_ids, render_alphas
            )
        return render_colors, render_alphas

    @staticmethod
    def backward(ctx, v_render_colors, v_render_alphas):
        v_render_colors = v_render_colors.contiguous()
        v_render_alphas = v_render_alphas.contiguous()
        if ctx.kernel == "cpp":
            v_means2d, v_conics, v_colors, v_opac, v_abs = _cpp_backward(ctx, v_render_colors, v_render_alphas)
        else:
            v_means2d, v_conics, v_colors, v_opac, v_abs = _torch_backward(ctx, v_render_colors, v_render_alphas)
        if ctx.absgrad and ctx.absgrad_sink is not None:
            ctx.absgrad_sink(v_abs)
        v_bg = None
        if ctx.has_bg and ctx.needs_input_grad[4]:
            render_alphas = ctx.saved_tensors[7]
            v_bg = (v_render_colors * (1.0 - render_alphas)).sum(dim=(1, 2))
        return (v_means2d, v_conics, v_colors, v_opac, v_bg) + (None,) * 8


def _torch_backward(ctx, v_render_colors: Tensor, v_render_alphas: Tensor):
    """Fallback backward: recompute the torch compositing under autograd (no graph is kept
    between forward and backward), plus absgrad from the per-pixel offsets' gradients."""
    means2d, conics, colors, opacities, backgrounds, isect_offsets, flatten_ids, _ = ctx.saved_tensors
    C, N, _ = colors.shape
    leaves = [t.detach().requires_grad_(True) for t in (means2d, conics, colors, opacities)]
    v_abs = means2d.new_zeros(C * N, 2) if ctx.absgrad else None
    deltas = []
    hook = (lambda d, g: deltas.append((d, g))) if ctx.absgrad else None
    with torch.enable_grad():
        rc, ra = _composite_torch(
            leaves[0],
            leaves[1],
            leaves[2],
            leaves[3],
            None,
            ctx.width,
            ctx.height,
            ctx.tile_size,
            isect_offsets,
            flatten_ids,
            delta_hook=hook,
        )
        if backgrounds is not None:  # as in forward: T * bg
            rc = rc + (1 - ra) * backgrounds[:, None, None, :]
        inputs = leaves + [d for d, _ in deltas]
        outs = [(o, v) for o, v in ((rc, v_render_colors), (ra, v_render_alphas)) if o.requires_grad]
        grads = [None] * len(inputs)
        if outs:  # nothing requires grad when no tile has a Gaussian
            grads = torch.autograd.grad([o for o, _ in outs], inputs, [v for _, v in outs], allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]
    if v_abs is not None:  # deltas were recorded (absgrad)
        for (d, gids), g in zip(deltas, grads[4:]):  # sum over pixels of |dL/dmeans2d| per pixel
            v_abs.index_add_(0, gids.reshape(-1), g.abs().sum(dim=1).reshape(-1, 2))
        v_abs = v_abs.reshape(C, N, 2)
    return grads[0], grads[1], grads[2], grads[3], v_abs


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------


def rasterization(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [(C,) N, D] or [(C,) N, K, 3]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    radius_clip: float = 0.0,
    eps2d: float = 0.3,
    sh_degree: Optional[int] = None,
    packed: bool = True,
    tile_size: int = 16,
    backgrounds: Optional[Tensor] = None,
    render_mode: Literal["RGB", "D", "ED", "RGB+D", "RGB+ED"] = "RGB",
    sparse_grad: bool = False,
    absgrad: bool = False,
    rasterize_mode: Literal["classic", "antialiased"] = "classic",
    channel_chunk: int = 32,
    distributed: bool = False,
    camera_model: Literal["pinhole", "ortho", "fisheye"] = "pinhole",
    covars: Optional[Tensor] = None,
) -> Tuple[Tensor, Tensor, Dict]:
    """Rasterize N 3D Gaussians to C images; a drop-in for ``gsplat.rendering.rasterization``.

    Returns render_colors [C, H, W, X] (X = D, 1 or D+1 by ``render_mode``), render_alphas
    [C, H, W, 1] and meta (radii, means2d, depths, conics, opacities, tile bookkeeping, ...).
    ``packed=True`` gives gsplat's packed meta (camera_ids, gaussian_ids, [nnz, ...] tensors);
    ``sparse_grad`` is accepted and ignored (gradients are dense); ``channel_chunk`` is ignored
    (all channels are composited in one pass).
    """
    if distributed:
        raise NotImplementedError("torch backend: distributed rasterization is not supported")
    if camera_model != "pinhole":
        raise NotImplementedError(f"torch backend: camera_model={camera_model!r} (only 'pinhole')")
    assert render_mode in ["RGB", "D", "ED", "RGB+D", "RGB+ED"], render_mode
    assert rasterize_mode in ["classic", "antialiased"], rasterize_mode
    N, C = means.shape[0], viewmats.shape[0]
    assert means.shape == (N, 3), means.shape
    assert opacities.shape == (N,), opacities.shape
    assert viewmats.shape == (C, 4, 4), viewmats.shape
    assert Ks.shape == (C, 3, 3), Ks.shape
    if covars is None:
        assert quats.shape == (N, 4) and scales.shape == (N, 3), (quats.shape, scales.shape)
        covars = _quat_scale_to_covar(quats, scales)
    else:
        assert covars.shape == (N, 3, 3), covars.shape
    _check_colors(colors, sh_degree, C, N)

    kernel = _kernel_choice(means.device, means.dtype)
    if any(t.dtype != means.dtype for t in (opacities, colors, viewmats, Ks, covars)):
        kernel = "torch"  # the kernels take one floating type
    if kernel == "cpp" and not Ks.requires_grad:
        radii, means2d, depths, conics, comp = _ProjectCpp.apply(
            means.contiguous(),
            covars.contiguous(),
            viewmats.contiguous(),
            Ks.contiguous(),
            width,
            height,
            eps2d,
            near_plane,
            far_plane,
            radius_clip,
        )
    else:
        radii, means2d, depths, conics, comp = _project(
            means, covars, viewmats, Ks, width, height, eps2d, near_plane, far_plane, radius_clip
        )
    opacities = opacities[None, :].expand(C, N)
    if rasterize_mode == "antialiased":
        opacities = opacities * comp
    colors = _colors_to_render(colors, sh_degree, means, viewmats, radii, C, N, kernel)

    # depth channels ride along with the colours in the same pass
    if render_mode in ["RGB+D", "RGB+ED"]:
        colors = torch.cat([colors, depths[..., None]], dim=-1)
        if backgrounds is not None:
            backgrounds = torch.cat([backgrounds, backgrounds.new_zeros(C, 1)], dim=-1)
    elif render_mode in ["D", "ED"]:
        colors = depths[..., None]
        if backgrounds is not None:
            backgrounds = backgrounds.new_zeros(C, 1)

    tile_width, tile_height = math.ceil(width / tile_size), math.ceil(height / tile_size)
    isect = _isect_tiles_cpp if kernel == "cpp" else _isect_tiles
    tiles_per_gauss, isect_ids, flatten_ids, isect_offsets = isect(
        means2d, radii, depths, tile_size, tile_width, tile_height
    )

    meta: Dict = {}
    if packed:
        # gsplat's packed layout: only the visible (camera, Gaussian) pairs, [nnz, ...]. means2d is
        # the packed tensor (so .grad/.absgrad are [nnz, 2]); it is scattered back for compositing.
        camera_ids, gaussian_ids = torch.nonzero(radii > 0, as_tuple=True)
        means2d_packed = means2d[camera_ids, gaussian_ids]
        means2d = torch.zeros_like(means2d).index_put((camera_ids, gaussian_ids), means2d_packed)
        meta.update(
            camera_ids=camera_ids,
            gaussian_ids=gaussian_ids,
            radii=radii[camera_ids, gaussian_ids],
            means2d=means2d_packed,
            depths=depths[camera_ids, gaussian_ids],
            conics=conics[camera_ids, gaussian_ids],
            opacities=opacities[camera_ids, gaussian_ids],
        )

        def absgrad_sink(v_abs: Tensor) -> None:
            # gsplat's convention: the gradient's absolute value rides on the means2d tensor
            means2d_packed.absgrad = v_abs[camera_ids, gaussian_ids]  # pyright: ignore[reportAttributeAccessIssue]
    else:
        meta.update(
            camera_ids=None,
            gaussian_ids=None,
            radii=radii,
            means2d=means2d,
            depths=depths,
            conics=conics,
            opacities=opacities,
        )
        unpacked_means2d = means2d

        def absgrad_sink(v_abs: Tensor) -> None:
            unpacked_means2d.absgrad = v_abs  # pyright: ignore[reportAttributeAccessIssue] (as above)

    meta.update(
        tile_width=tile_width,
        tile_height=tile_height,
        tiles_per_gauss=tiles_per_gauss,
        isect_ids=isect_ids,
        flatten_ids=flatten_ids,
        isect_offsets=isect_offsets,
        width=width,
        height=height,
        tile_size=tile_size,
        n_cameras=C,
    )

    bg = None if backgrounds is None else backgrounds.to(colors.dtype).contiguous()
    render_colors, render_alphas = _RasterizeToPixels.apply(
        means2d.contiguous(),
        conics.contiguous(),
        colors.contiguous(),
        opacities.contiguous(),
        bg,
        width,
        height,
        tile_size,
        isect_offsets.contiguous(),
        flatten_ids.contiguous(),
        absgrad,
        kernel,
        absgrad_sink,
    )
    if render_mode in ["ED", "RGB+ED"]:
        # expected depth: accumulated depth normalised by the accumulated alpha
        render_colors = torch.cat(
            [render_colors[..., :-1], render_colors[..., -1:] / render_alphas.clamp(min=1e-10)], dim=-1
        )
    return render_colors, render_alphas, meta


def _check_colors(colors: Tensor, sh_degree: Optional[int], C: int, N: int) -> None:
    if sh_degree is None:  # post-activation values [N, D] or [C, N, D]
        assert (colors.dim() == 2 and colors.shape[0] == N) or (colors.dim() == 3 and colors.shape[:2] == (C, N)), (
            colors.shape
        )
    else:  # SH coefficients [N, K, 3] or [C, N, K, 3]
        assert (colors.dim() == 3 and colors.shape[0] == N and colors.shape[2] == 3) or (
            colors.dim() == 4 and colors.shape[:2] == (C, N) and colors.shape[3] == 3
        ), colors.shape
        assert (sh_degree + 1) ** 2 <= colors.shape[-2], colors.shape


def _colors_to_render(
    colors: Tensor,
    sh_degree: Optional[int],
    means: Tensor,
    viewmats: Tensor,
    radii: Tensor,
    C: int,
    N: int,
    kernel: str = "torch",
) -> Tensor:
    """Per-camera colours [C, N, D]: given values, or SH evaluated along means - camera centre."""
    if sh_degree is None:
        return colors.expand(C, -1, -1) if colors.dim() == 2 else colors
    campos = torch.inverse(viewmats)[:, :3, 3]  # [C, 3]
    dirs = means[None, :, :] - campos[:, None, :]  # [C, N, 3]
    if kernel == "cpp":
        return _SHColorsCpp.apply(sh_degree, dirs.contiguous(), colors.contiguous(), radii)
    shs = colors.expand(C, -1, -1, -1) if colors.dim() == 3 else colors
    rgb = sh_colors(sh_degree, dirs, shs)
    # gsplat zeroes SH colours of culled Gaussians before the +0.5 offset
    rgb = torch.where((radii > 0)[..., None], rgb, torch.zeros_like(rgb))
    return torch.clamp_min(rgb + 0.5, 0.0)  # apple-to-apple with Inria's CUDA backend
