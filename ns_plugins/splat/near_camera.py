"""Gaussians at a training camera's position, nearer than the scene it sees: floaters to prune.

A few Gaussians beside a training camera, on the capture path, can sit outside every training image
(or cover a few pixels of some) and so cost the training photos nothing, while a held-out camera next
to them looks through them: one held-out view lost 8 dB to two such Gaussians (benchmarks/RESULTS.md,
the DeblurGS suite's notes). Splatfacto has no rule against them; gsplat's pruning looks at opacity
and size only.

The seed points tell where the scene starts for each camera: :func:`near_depths` takes a low quantile
of the depths of the seed points that project into its image (occluded ones included, which only
lowers the figure). :func:`near_cameras` marks the Gaussians within a ball around each camera centre
whose radius is a share of that depth. A camera with too few seed points in view gets depth 0 and a
ball of radius 0, so a capture without seed points is left as splatfacto would leave it. Rules on the
frusta alone (Gaussians in an image nearer than the seed depth there) missed those two Gaussians,
whose centres are in no training image.
"""

from __future__ import annotations

from typing import Tuple

import torch
from nerfstudio.cameras.cameras import Cameras


def project_to_camera(
    points: torch.Tensor, c2w: torch.Tensor, intrinsics: Tuple[float, float, float, float], size: Tuple[int, int]
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Depth of points along one camera's view axis, and whether they project into its image.

    Args:
        points: [P, 3] world points.
        c2w: [3, 4] nerfstudio camera-to-world (x right, y up, z back).
        intrinsics: (fx, fy, cx, cy) in pixels (pinhole; lens distortion ignored).
        size: (width, height) in pixels.

    Returns:
        depth [P] (positive in front of the camera) and inside [P] bool (in front and within the image).
    """
    fx, fy, cx, cy = intrinsics
    local = (points - c2w[:, 3]) @ c2w[:, :3]  # [P, 3] in camera axes
    depth = -local[:, 2]
    safe = depth.clamp_min(1e-8)
    u = fx * local[:, 0] / safe + cx
    v = -fy * local[:, 1] / safe + cy
    inside = (depth > 0) & (u >= 0) & (u < size[0]) & (v >= 0) & (v < size[1])
    return depth, inside


def _camera_geometry(
    cameras: Cameras, i: int
) -> Tuple[torch.Tensor, Tuple[float, float, float, float], Tuple[int, int]]:
    """(c2w [3, 4], (fx, fy, cx, cy), (width, height)) of camera ``i`` of a flat Cameras batch."""
    intrinsics = (
        float(cameras.fx[i]),
        float(cameras.fy[i]),
        float(cameras.cx[i]),
        float(cameras.cy[i]),
    )
    return cameras.camera_to_worlds[i], intrinsics, (int(cameras.width[i]), int(cameras.height[i]))


def near_depths(
    seed_points: torch.Tensor, cameras: Cameras, quantile: float = 0.02, min_points: int = 20
) -> torch.Tensor:
    """Per camera, the ``quantile`` of the depths of the seed points in its image: where its scene starts.

    Args:
        seed_points: [P, 3] world points (the run's seed points).
        cameras: M training cameras (flat batch).
        quantile: low quantile taken, so that a few stray points do not decide.
        min_points: cameras with fewer seed points in view get 0 (no depth known).

    Returns:
        [M] depths (0 where unknown).
    """
    out = torch.zeros(len(cameras), dtype=seed_points.dtype, device=seed_points.device)
    for i in range(len(cameras)):
        c2w, intrinsics, size = _camera_geometry(cameras, i)
        depth, inside = project_to_camera(seed_points, c2w.to(seed_points), intrinsics, size)
        if int(inside.sum()) >= min_points:
            out[i] = torch.quantile(depth[inside], quantile)
    return out


def near_cameras(means: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """Gaussians whose centre lies within ``radii[i]`` of some camera centre ``centres[i]``.

    Args:
        means: [N, 3] Gaussian centres.
        centres: [M, 3] camera centres.
        radii: [M] ball radius per camera (0: none).
        chunk: Gaussians per distance block (bounds memory at chunk x M).

    Returns:
        [N] bool.
    """
    marked = torch.zeros(means.shape[0], dtype=torch.bool, device=means.device)
    centres, radii = centres.to(means), radii.to(means)
    for start in range(0, means.shape[0], chunk):
        block = torch.cdist(means[start : start + chunk], centres)  # [n, M]
        marked[start : start + chunk] = (block < radii).any(dim=1)
    return marked
