"""Gaussians bound to mesh triangles (GaussianAvatars-style binding), as small pure functions.

Each Gaussian has a parent triangle and lives in that triangle's frame: origin T = mean of its
three vertices, rotation R = [e0, e1, n] (e0 along edge v1 - v0, n the face normal,
e1 = n x e0), scale k = mean of the lengths of edges v1 - v0 and v2 - v0. Its world
position is k R mu + T, its scales k s, its rotation q_face * q_local. When the mesh moves,
the Gaussians follow; a rigid motion of the mesh moves them rigidly.

Quaternions are (w, x, y, z), as gsplat takes them (``ns_plugins.splat.geometry``).
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from ns_plugins.splat.geometry import quat_multiply, rotmat_to_quat


def face_frames(vertices: torch.Tensor, faces: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-triangle frames of a mesh.

    Args:
        vertices: [V, 3] vertex positions.
        faces: [F, 3] vertex ids (long).

    Returns:
        origins [F, 3] (vertex means), rotations [F, 3, 3] (columns e0, e1, n), scales [F].
    """
    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    a, b = v1 - v0, v2 - v0
    e0 = F.normalize(a, dim=-1)
    n = F.normalize(torch.linalg.cross(a, b), dim=-1)
    e1 = torch.linalg.cross(n, e0)
    rotations = torch.stack([e0, e1, n], dim=-1)
    scales = 0.5 * (a.norm(dim=-1) + b.norm(dim=-1))
    return (v0 + v1 + v2) / 3.0, rotations, scales


def bind_gaussians(
    local_means: torch.Tensor,
    local_log_scales: torch.Tensor,
    local_quats: torch.Tensor,
    parents: torch.Tensor,
    vertices: torch.Tensor,
    faces: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World Gaussians of a mesh pose from their triangle-local parameters.

    Args:
        local_means: [N, 3] mu, in units of the parent triangle's scale.
        local_log_scales: [N, 3] log s.
        local_quats: [N, 4] q_local (any norm).
        parents: [N] parent triangle ids (long).
        vertices: [V, 3] the mesh pose.
        faces: [F, 3] vertex ids.

    Returns:
        means [N, 3] = k R mu + T, log_scales [N, 3] = log s + log k, quats [N, 4] = q_face * q_local (unit).
    """
    origins, rotations, scales = face_frames(vertices, faces)
    k, rot = scales[parents], rotations[parents]
    means = k[:, None] * (rot @ local_means[..., None]).squeeze(-1) + origins[parents]
    log_scales = local_log_scales + torch.log(k)[:, None]
    quats = quat_multiply(rotmat_to_quat(rot), F.normalize(local_quats, dim=-1))
    return means, log_scales, quats


def world_to_local(
    points: torch.Tensor, parents: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor
) -> torch.Tensor:
    """Inverse of the position binding: world points [N, 3] -> mu [N, 3] in their parents' frames."""
    origins, rotations, scales = face_frames(vertices, faces)
    offset = (points - origins[parents])[..., None]
    return (rotations[parents].transpose(-1, -2) @ offset).squeeze(-1) / scales[parents][:, None]


def sample_on_faces(
    vertices: torch.Tensor, faces: torch.Tensor, per_face: int, generator: torch.Generator | None = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``per_face`` uniform random points on every triangle.

    Args:
        vertices: [V, 3]; faces: [F, 3].

    Returns:
        points [F * per_face, 3] and their parent ids [F * per_face] (long).
    """
    num_faces = faces.shape[0]
    parents = torch.arange(num_faces, device=faces.device).repeat_interleave(per_face)
    u, v = torch.rand(2, parents.shape[0], 1, generator=generator, dtype=vertices.dtype).to(vertices.device)
    flip = (u + v) > 1  # fold the unit square onto the triangle
    u, v = torch.where(flip, 1 - u, u), torch.where(flip, 1 - v, v)
    tri = vertices[faces[parents]]  # [N, 3, 3]
    points = tri[:, 0] + u * (tri[:, 1] - tri[:, 0]) + v * (tri[:, 2] - tri[:, 0])
    return points, parents
