"""Shaded renders of a triangle mesh: z-buffered, perspective-correct, with vertex colours and a key light.

One rasterizer serves both the talking head's preview videos (``ns-l2t animate``, frontal camera)
and the synthetic avatar captures (``synth/avatar_capture.py``, any pinhole camera). It has nothing
to do with the Gaussian rasterizer, so an avatar trained on its images has to approximate a real
surface.
"""

from __future__ import annotations

import numpy as np
import torch

from ns_plugins.learn2talk.talking_head.projection import FrontalCamera

BACKGROUND = (0.12, 0.12, 0.14)
"""Background of the preview videos."""
LIGHT_DIR = (0.35, 0.45, 1.0)
"""Key light direction (world; the head faces +z, y up), fixed in the world, so shading follows the mesh."""
AMBIENT = 0.35


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals. vertices [..., V, 3], faces [F, 3] -> [..., V, 3] unit."""
    tri = vertices[..., faces, :]
    fn = torch.linalg.cross(tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :])
    normals = torch.zeros_like(vertices)
    for k in range(3):
        normals.index_add_(-2, faces[:, k], fn)
    return torch.nn.functional.normalize(normals, dim=-1)


def project_points(points: torch.Tensor, c2w: torch.Tensor, K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World points [P, 3] -> pixel coordinates [P, 2] (pixel centres at +0.5) and depth [P] along the view.

    c2w: [4, 4] nerfstudio/OpenGL camera-to-world (camera looks down -z, y up); K: [3, 3].
    """
    cam = (points - c2w[:3, 3]) @ c2w[:3, :3]
    depth = -cam[:, 2]
    x = K[0, 0] * cam[:, 0] / depth + K[0, 2]
    y = K[1, 2] - K[1, 1] * cam[:, 1] / depth  # image rows grow downwards
    return torch.stack([x, y], -1), depth


def rasterize_triangles(
    pixels: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, attributes: torch.Tensor, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Z-buffered, perspective-correct rasterization of a triangle mesh, one sample per pixel centre.

    Every triangle is tested only against the pixel centres of its bounding box (pairs are
    generated in one vectorised batch), so the cost follows the covered area.

    Args:
        pixels: [V, 2] projected vertices; depth: [V] (> 0 in front of the camera).
        faces: [F, 3]; attributes: [V, A] interpolated per pixel.
        width, height: image size.

    Returns:
        image [H, W, A] (zeros where empty), coverage [H, W] bool.
    """
    tri, tri_depth = pixels[faces], depth[faces]  # [F, 3, 2], [F, 3]
    area = (tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1]) - (tri[:, 2, 0] - tri[:, 0, 0]) * (
        tri[:, 1, 1] - tri[:, 0, 1]
    )
    keep = (tri_depth.min(1).values > 1e-3) & (area.abs() > 1e-12)
    faces, tri, tri_depth, area = faces[keep], tri[keep], tri_depth[keep], area[keep]
    lo = torch.ceil(tri.min(1).values - 0.5).clamp(min=0).long()  # first pixel whose centre is inside the box
    hi = torch.floor(tri.max(1).values - 0.5).long()
    hi[:, 0].clamp_(max=width - 1)
    hi[:, 1].clamp_(max=height - 1)
    size = (hi - lo + 1).clamp(min=0)  # [F, 2]
    counts = size[:, 0] * size[:, 1]
    face_of = torch.repeat_interleave(torch.arange(len(faces)), counts)
    local = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    px = lo[face_of, 0] + local % size[face_of, 0]
    py = lo[face_of, 1] + local // size[face_of, 0]
    p = torch.stack([px, py], -1).float() + 0.5
    t = tri[face_of]  # [P, 3, 2]

    def edge(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (p[:, 0] - a[:, 0])

    bary = (
        torch.stack([edge(t[:, 1], t[:, 2]), edge(t[:, 2], t[:, 0]), edge(t[:, 0], t[:, 1])], -1) / area[face_of, None]
    )
    inside = (bary >= 0).all(-1)
    bary, face_of, pix = bary[inside], face_of[inside], (py * width + px)[inside]
    # perspective-correct: 1/z and attribute/z are affine in screen space
    w = bary / tri_depth[face_of]
    inv_z = w.sum(-1)
    zbuf = torch.full((width * height,), float("inf")).scatter_reduce(0, pix, 1.0 / inv_z, "amin")
    front = (1.0 / inv_z) <= zbuf[pix]
    sample = torch.arange(len(pix))
    winner = torch.full((width * height,), -1, dtype=torch.long).scatter_reduce(0, pix[front], sample[front], "amax")
    covered = winner >= 0
    chosen = winner[covered]
    values = torch.einsum("pk,pka->pa", w[chosen] / inv_z[chosen, None], attributes[faces[face_of[chosen]]])
    image = torch.zeros(width * height, attributes.shape[1], dtype=attributes.dtype)
    image[covered] = values
    return image.reshape(height, width, -1), covered.reshape(height, width)


def shade_mesh(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    colors: torch.Tensor,
    c2w: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    supersample: int = 1,
) -> np.ndarray:
    """Shaded RGBA image [H, W, 4] in [0, 1] (colour not premultiplied; alpha = coverage) of a mesh pose.

    vertices [V, 3], faces [F, 3], colors [V, 3]; c2w [4, 4] (OpenGL convention), K [3, 3]. Lambert
    shading with interpolated normals; rendered at ``supersample`` x the resolution and box-filtered,
    so edges are anti-aliased.
    """
    s = supersample
    K = K.float().clone()
    K[:2] *= s
    pixels, depth = project_points(vertices.float(), c2w.float(), K)
    attrs = torch.cat([colors.float(), vertex_normals(vertices.float(), faces)], -1)
    image, covered = rasterize_triangles(pixels, depth, faces, attrs, width * s, height * s)
    normal = torch.nn.functional.normalize(image[..., 3:], dim=-1)
    light = torch.nn.functional.normalize(torch.tensor(LIGHT_DIR), dim=0)
    rgb = image[..., :3] * (AMBIENT + (1 - AMBIENT) * (normal @ light).clamp(min=0))[..., None]
    rgba = torch.cat([rgb * covered[..., None], covered[..., None].float()], -1)  # premultiplied
    rgba = torch.nn.functional.avg_pool2d(rgba.permute(2, 0, 1)[None], s)[0].permute(1, 2, 0)
    alpha = rgba[..., 3:]
    rgb = torch.where(alpha > 0, rgba[..., :3] / alpha.clamp(min=1e-8), torch.zeros_like(rgba[..., :3]))
    return torch.cat([rgb.clamp(0, 1), alpha], -1).numpy()


def frontal_pose(camera: FrontalCamera) -> tuple[torch.Tensor, torch.Tensor]:
    """(c2w [4, 4], K [3, 3]) of a :class:`FrontalCamera`: on +z at its distance, looking at the origin, y up."""
    c2w = torch.eye(4)
    c2w[2, 3] = camera.distance
    K = torch.tensor([[camera.focal, 0.0, camera.width / 2], [0.0, camera.focal, camera.height / 2], [0.0, 0.0, 1.0]])
    return c2w, K


def render_mesh(
    vertices: torch.Tensor, faces: torch.Tensor, colors: torch.Tensor, camera: FrontalCamera, supersample: int = 1
) -> np.ndarray:
    """vertices [V, 3], faces [F, 3], colors [V, 3] in [0, 1] -> image [H, W, 3] uint8 over :data:`BACKGROUND`."""
    c2w, K = frontal_pose(camera)
    rgba = shade_mesh(vertices.detach(), faces, colors, c2w, K, camera.width, camera.height, supersample)
    rgb = rgba[..., :3] * rgba[..., 3:] + np.asarray(BACKGROUND) * (1 - rgba[..., 3:])
    return (rgb.clip(0, 1) * 255 + 0.5).astype(np.uint8)
