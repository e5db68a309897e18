"""A procedural head mesh with jaw, lip and upper-face deformation bases.

The head is a deformed latitude/longitude sphere (y up, facing +z, inside the unit ball) with a
nose, a chin and a mouth line. Each basis is a per-vertex displacement field [V, 3] built from
smooth falloffs around the mouth, the brows and the eyelids, so that

    vertices(t) = template + sum_k coeffs[t, k] * bases[k]          ([T, V, 3])

``make_head_mesh(seed=s)`` gives speaker ``s`` a slightly different head (width, height, depth,
mouth width and height); seed 0 is the canonical head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

BASIS_NAMES = ["jaw_open", "lip_round", "lip_spread", "lip_press", "brow_raise", "blink"]
MOUTH_BASES = ("jaw_open", "lip_round", "lip_spread", "lip_press")

SKIN = (0.86, 0.66, 0.55)
LIP = (0.70, 0.30, 0.32)
MOUTH_LINE = (0.25, 0.06, 0.08)
SCLERA = (0.93, 0.93, 0.90)
IRIS = (0.12, 0.16, 0.22)
BROW = (0.30, 0.20, 0.14)
HAIR = (0.24, 0.16, 0.11)


@dataclass
class HeadMesh:
    template: torch.Tensor  # [V, 3] neutral vertices, head roughly in the unit ball, facing +z
    faces: torch.Tensor  # [F, 3] long, outward-facing triangles (closed surface)
    bases: torch.Tensor  # [K, V, 3] deformation bases
    basis_names: list[str]  # [K]
    lip_vertex_ids: torch.Tensor  # [L] long
    upper_face_vertex_ids: torch.Tensor  # [U] long
    vertex_colors: torch.Tensor  # [V, 3] in [0, 1]

    @property
    def num_vertices(self) -> int:
        return int(self.template.shape[0])

    def basis_index(self, name: str) -> int:
        return self.basis_names.index(name)


def _sphere(n_lat: int, n_lon: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lat/lon sphere -> (theta [V], phi [V], faces [F, 3]); theta from +y (0) to -y (pi), phi=0 at +z."""
    theta_rings = torch.arange(1, n_lat, dtype=torch.float64) * math.pi / n_lat
    phi = torch.arange(n_lon, dtype=torch.float64) * 2 * math.pi / n_lon - math.pi
    th, ph = torch.meshgrid(theta_rings, phi, indexing="ij")
    theta = torch.cat(
        [torch.zeros(1, dtype=torch.float64), th.reshape(-1), torch.full((1,), math.pi, dtype=torch.float64)]
    )
    phis = torch.cat([torch.zeros(1, dtype=torch.float64), ph.reshape(-1), torch.zeros(1, dtype=torch.float64)])
    n_rings = n_lat - 1
    south = 1 + n_rings * n_lon

    def vid(r: int, c: int) -> int:
        return 1 + r * n_lon + (c % n_lon)

    faces = []
    for c in range(n_lon):
        faces.append((0, vid(0, c), vid(0, c + 1)))
        faces.append((south, vid(n_rings - 1, c + 1), vid(n_rings - 1, c)))
    for r in range(n_rings - 1):
        for c in range(n_lon):
            a, b, cc, d = vid(r, c), vid(r, c + 1), vid(r + 1, c), vid(r + 1, c + 1)
            faces.append((a, cc, b))
            faces.append((b, cc, d))
    return theta, phis, torch.tensor(faces, dtype=torch.long)


def _orient_outward(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Flip triangles whose normal points towards the head's centre. faces [F, 3] -> [F, 3]."""
    tri = verts[faces]
    normal = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inward = (normal * (tri.mean(1) - verts.mean(0))).sum(-1) < 0
    faces = faces.clone()
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return faces


def _bump(u: torch.Tensor, v: torch.Tensor, su: float, sv: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((u / su) ** 2 + (v / sv) ** 2))


def make_head_mesh(resolution: int = 32, seed: int = 0) -> HeadMesh:
    """A head with ``(resolution - 1) * 2 * resolution + 2`` vertices (1986 at the default)."""
    if resolution < 12:
        raise ValueError(f"resolution must be at least 12 (got {resolution}): the mouth needs a few rings")
    gen = torch.Generator().manual_seed(1000 + seed)

    def jitter(scale: float) -> float:
        return 0.0 if seed == 0 else float((torch.rand((), generator=gen, dtype=torch.float64) * 2 - 1) * scale)

    theta, phi, faces = _sphere(resolution, 2 * resolution)
    # Face-local coordinates: u across the face (radians of longitude), v down from the mouth line.
    mouth_theta = math.acos(-0.38) + jitter(0.03)
    mouth_width = 0.30 * (1 + jitter(0.12))
    lip_height = 0.11 * (1 + jitter(0.1))
    u = phi
    v = theta - mouth_theta
    front = torch.clamp(torch.cos(phi), min=0.0)

    sx, sy, sz = 0.72 * (1 + jitter(0.06)), 0.92 * (1 + jitter(0.05)), 0.80 * (1 + jitter(0.06))
    r = torch.ones_like(theta)
    eye_theta = math.acos(0.18)
    r = r + 0.16 * _bump(u, theta - math.acos(-0.02), 0.10, 0.16) * front  # nose
    r = r + 0.06 * _bump(u, theta - math.acos(-0.75), 0.35, 0.18) * front  # chin
    r = r + 0.03 * _bump(u, v, mouth_width, lip_height) * front  # lips stand out a little
    r = (
        r
        - 0.04
        * (_bump(u - 0.42, theta - eye_theta, 0.13, 0.09) + _bump(u + 0.42, theta - eye_theta, 0.13, 0.09))
        * front
    )
    x = sx * r * torch.sin(theta) * torch.sin(phi)
    y = sy * r * torch.cos(theta)
    z = sz * r * torch.sin(theta) * torch.cos(phi)
    template = torch.stack([x, y, z], -1)
    faces = _orient_outward(template, faces)

    # Mouth region weights: upper lip (v < 0), lower lip (v > 0), corners at |u| ~ mouth_width.
    mouth = _bump(u, v, mouth_width, lip_height) * front
    upper_lip = mouth * (v < 0)
    lower = (
        torch.sigmoid((v - 0.02) / 0.03)
        * torch.exp(-0.5 * (u / 0.75) ** 2)
        * torch.exp(-0.5 * (torch.clamp(v - 0.35, min=0) / 0.2) ** 2)
    )
    lower = lower * (torch.cos(phi) > -0.2)
    zeros = torch.zeros_like(x)

    jaw = torch.stack([zeros, -0.13 * lower, -0.04 * lower], -1) + torch.stack([zeros, 0.02 * upper_lip, zeros], -1)
    lip_round = torch.stack([-0.55 * x * mouth, zeros, 0.06 * mouth], -1)
    corner = torch.clamp(u.abs() / mouth_width, max=1.5) * mouth
    lip_spread = torch.stack([0.5 * x * mouth, 0.025 * corner, -0.015 * mouth], -1)
    lip_press = torch.stack([zeros, -0.035 * torch.sign(v) * mouth * (v.abs() > 1e-9), -0.02 * mouth], -1)
    brows = _bump(u - 0.42, theta - math.acos(0.42), 0.2, 0.1) + _bump(u + 0.42, theta - math.acos(0.42), 0.2, 0.1)
    brow_raise = torch.stack([zeros, 0.06 * brows * front, zeros], -1)
    lids = _bump(u - 0.42, theta - (eye_theta - 0.07), 0.14, 0.06) + _bump(
        u + 0.42, theta - (eye_theta - 0.07), 0.14, 0.06
    )
    blink = torch.stack([zeros, -0.06 * lids * front, 0.01 * lids * front], -1)
    bases = torch.stack([jaw, lip_round, lip_spread, lip_press, brow_raise, blink])

    lip_ids = torch.nonzero((mouth > 0.3) & (front > 0.5)).squeeze(-1)
    upper_ids = torch.nonzero((theta < math.acos(0.0)) & (front > 0.3) & (theta > 0.5)).squeeze(-1)

    colors = torch.tensor(SKIN, dtype=torch.float64).expand(theta.shape[0], 3).clone()
    hair = (theta < 0.75) | ((torch.cos(phi) < -0.1) & (theta < 1.9))
    colors[hair] = torch.tensor(HAIR, dtype=torch.float64)
    colors[brows * front > 0.55] = torch.tensor(BROW, dtype=torch.float64)
    for side in (-0.42, 0.42):
        eye = _bump(u - side, theta - eye_theta, 0.11, 0.06) * front
        colors[eye > 0.45] = torch.tensor(SCLERA, dtype=torch.float64)
        colors[eye > 0.8] = torch.tensor(IRIS, dtype=torch.float64)
    colors[mouth > 0.45] = torch.tensor(LIP, dtype=torch.float64)
    colors[(mouth > 0.45) & (v.abs() < 0.5 * math.pi / resolution)] = torch.tensor(MOUTH_LINE, dtype=torch.float64)

    return HeadMesh(
        template=template.float(),
        faces=faces,
        bases=bases.float(),
        basis_names=list(BASIS_NAMES),
        lip_vertex_ids=lip_ids,
        upper_face_vertex_ids=upper_ids,
        vertex_colors=colors.float(),
    )


def deform(mesh: HeadMesh, coeffs: torch.Tensor) -> torch.Tensor:
    """coeffs [T, K] -> vertices [T, V, 3] = template + coeffs . bases."""
    if coeffs.shape[-1] != mesh.bases.shape[0]:
        raise ValueError(f"coeffs have {coeffs.shape[-1]} bases, the mesh has {mesh.bases.shape[0]}")
    return mesh.template + torch.einsum("tk,kvd->tvd", coeffs.to(mesh.bases), mesh.bases)
