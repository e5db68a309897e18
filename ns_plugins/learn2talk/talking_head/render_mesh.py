"""Shaded renders of a (deforming) mesh without an avatar: dense surface points, z-buffered.

Each front-facing triangle is sampled on a barycentric grid fine enough to leave no holes at the
output resolution; every sample carries the interpolated vertex colour shaded by a Lambert term,
and the nearest sample per pixel wins (a point z-buffer, which is all a preview video needs).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ns_plugins.learn2talk.head_mesh import vertex_normals
from ns_plugins.learn2talk.projection import FrontalCamera, project

BACKGROUND = (0.12, 0.12, 0.14)
LIGHT = (0.35, 0.45, 1.0)


def _barycentric_grid(n: int) -> torch.Tensor:
    """[S, 3] barycentric weights of a triangle grid with n+1 points per side."""
    ij = [(i, j) for i in range(n + 1) for j in range(n + 1 - i)]
    w = torch.tensor([(i / n, j / n, (n - i - j) / n) for i, j in ij], dtype=torch.float32)
    return w


def render_mesh(vertices: torch.Tensor, faces: torch.Tensor, colors: torch.Tensor, camera: FrontalCamera) -> np.ndarray:
    """vertices [V, 3], faces [F, 3], colors [V, 3] in [0, 1] -> image [H, W, 3] uint8."""
    vertices = vertices.detach().float()
    normals = vertex_normals(vertices, faces)
    light = torch.nn.functional.normalize(torch.tensor(LIGHT), dim=0)
    shade = (0.35 + 0.65 * (normals @ light).clamp(min=0)).unsqueeze(-1) * colors.float()
    pix, depth = project(vertices, camera)
    tri_pix = pix[faces]  # [F, 3, 2]
    area2 = (tri_pix[:, 1, 0] - tri_pix[:, 0, 0]) * (tri_pix[:, 2, 1] - tri_pix[:, 0, 1]) - (
        tri_pix[:, 2, 0] - tri_pix[:, 0, 0]
    ) * (tri_pix[:, 1, 1] - tri_pix[:, 0, 1])
    visible = area2 < 0  # outward triangles are clockwise in image space (v grows downwards)
    faces = faces[visible]
    tri_pix = tri_pix[visible]
    longest = (tri_pix - tri_pix.roll(1, dims=1)).norm(dim=-1).max().item() if len(faces) else 1.0
    bary = _barycentric_grid(max(1, math.ceil(longest / 0.7)))  # [S, 3]
    pts = torch.einsum("sk,fkd->fsd", bary, tri_pix).reshape(-1, 2)
    pdepth = torch.einsum("sk,fk->fs", bary, depth[faces]).reshape(-1)
    pcol = torch.einsum("sk,fkd->fsd", bary, shade[faces]).reshape(-1, 3)
    x = pts[:, 0].floor().long()
    y = pts[:, 1].floor().long()
    ok = (x >= 0) & (x < camera.width) & (y >= 0) & (y < camera.height)
    idx = (y * camera.width + x)[ok]
    pdepth, pcol = pdepth[ok], pcol[ok]
    zbuf = torch.full((camera.width * camera.height,), float("inf")).scatter_reduce(0, idx, pdepth, "amin")
    nearest = pdepth <= zbuf[idx]
    img = torch.tensor(BACKGROUND).expand(camera.width * camera.height, 3).clone()
    img[idx[nearest]] = pcol[nearest]
    img = img.reshape(camera.height, camera.width, 3).clamp(0, 1)
    return (img.numpy() * 255 + 0.5).astype(np.uint8)
