"""Gaussians bound to mesh triangles (GaussianAvatars-style binding), as small pure functions.

Each Gaussian has a parent triangle and lives in that triangle's frame: origin T = mean of its
three vertices, rotation R = [e0, e1, n] (e0 along edge v1 - v0, n the face normal,
e1 = n x e0), scale k = mean of the lengths of edges v1 - v0 and v2 - v0. Its world
position is k R mu + T, its scales k s, its rotation q_face * q_local. When the mesh moves,
the Gaussians follow; a rigid motion of the mesh moves them rigidly.

Quaternions are (w, x, y, z), as gsplat takes them.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F


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


def rotmat_to_quat(rot: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] -> unit quaternions [..., 4] (w, x, y, z), w >= 0.

    Builds the four candidate quaternions (one per largest diagonal term) and keeps the best
    conditioned one, so it is stable for every rotation.
    """
    m = rot
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    cands = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
            torch.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
            torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
            torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )  # [..., 4, 4]: row i is 4 q_i q for candidate i
    best = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1).argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = F.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def quat_multiply(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hamilton product p * q of quaternions [..., 4] (w, x, y, z): rotate by q, then by p."""
    pw, px, py, pz = p.unbind(-1)
    qw, qx, qy, qz = q.unbind(-1)
    return torch.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        dim=-1,
    )


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


def world_to_local(points: torch.Tensor, parents: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Inverse of the position binding: world points [N, 3] -> mu [N, 3] in their parents' frames."""
    origins, rotations, scales = face_frames(vertices, faces)
    offset = (points - origins[parents])[..., None]
    return (rotations[parents].transpose(-1, -2) @ offset).squeeze(-1) / scales[parents][:, None]


def sample_on_faces(vertices: torch.Tensor, faces: torch.Tensor, per_face: int, generator: torch.Generator | None = None) -> Tuple[torch.Tensor, torch.Tensor]:
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
