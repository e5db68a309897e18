"""Rotations and rigid transforms: SO(3)/SE(3) exp and log, quaternions, look-at camera poses.

Conventions: twists are (rho, omega) 6-vectors (translation part first); quaternions are (w, x, y, z)
as gsplat and splatfacto store them; camera-to-world poses use nerfstudio's OpenGL axes (x right,
y up, the camera looks down -z). Every function takes any leading batch shape ``[...]``.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union, overload

import numpy as np
import torch

_EPS = 1e-6
Array = Union[torch.Tensor, np.ndarray]


def skew(v: torch.Tensor) -> torch.Tensor:
    """[..., 3] -> [..., 3, 3] cross-product matrices."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(*v.shape[:-1], 3, 3)


def _sinc_terms(theta2: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A = sin t / t, B = (1 - cos t) / t^2, C = (t - sin t) / t^3 from t^2 [...], stable near 0."""
    small = theta2 < 1e-6
    t2 = torch.where(small, torch.ones_like(theta2), theta2)
    t = t2.sqrt()
    a = torch.where(small, 1 - theta2 / 6, torch.sin(t) / t)
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(t)) / t2)
    c = torch.where(small, 1.0 / 6 - theta2 / 120, (t - torch.sin(t)) / (t2 * t))
    return a, b, c


def so3_exp(omega: torch.Tensor) -> torch.Tensor:
    """Rodrigues: axis-angle [..., 3] -> rotation [..., 3, 3]."""
    a, b, _ = _sinc_terms((omega * omega).sum(-1))
    k = skew(omega)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device).expand(k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def se3_exp(xi: torch.Tensor) -> torch.Tensor:
    """Twist [..., 6] (rho, omega) -> rigid transform [..., 4, 4]."""
    rho, omega = xi[..., :3], xi[..., 3:]
    a, b, c = _sinc_terms((omega * omega).sum(-1))
    k = skew(omega)
    eye = torch.eye(3, dtype=xi.dtype, device=xi.device).expand(k.shape)
    rot = eye + a[..., None, None] * k + b[..., None, None] * (k @ k)
    v = eye + b[..., None, None] * k + c[..., None, None] * (k @ k)
    out = torch.zeros(*xi.shape[:-1], 4, 4, dtype=xi.dtype, device=xi.device)
    out[..., :3, :3] = rot
    out[..., :3, 3] = (v @ rho[..., None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def so3_log(rot: torch.Tensor) -> torch.Tensor:
    """Rotation [..., 3, 3] -> axis-angle [..., 3] (angles below pi)."""
    cos = ((rot.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1 + _EPS, 1 - _EPS)
    theta = torch.acos(cos)
    vee = torch.stack(
        [rot[..., 2, 1] - rot[..., 1, 2], rot[..., 0, 2] - rot[..., 2, 0], rot[..., 1, 0] - rot[..., 0, 1]], -1
    )
    scale = torch.where(theta < 1e-4, 0.5 + theta**2 / 12, theta / (2 * torch.sin(theta)))
    return scale[..., None] * vee


def se3_log(transform: torch.Tensor) -> torch.Tensor:
    """Rigid transform [..., 4, 4] or [..., 3, 4] -> twist [..., 6] (rho, omega); inverse of se3_exp."""
    omega = so3_log(transform[..., :3, :3])
    theta2 = (omega * omega).sum(-1)
    a, b, _ = _sinc_terms(theta2)
    k = skew(omega)
    eye = torch.eye(3, dtype=transform.dtype, device=transform.device).expand(k.shape)
    # V^-1 = I - K/2 + (1 - A / (2B)) / t^2 K^2 (series near 0)
    coef = torch.where(theta2 < 1e-6, 1.0 / 12 + theta2 / 720, (1 - a / (2 * b)) / theta2.clamp_min(1e-12))
    v_inv = eye - 0.5 * k + coef[..., None, None] * (k @ k)
    rho = (v_inv @ transform[..., :3, 3:4])[..., 0]
    return torch.cat([rho, omega], -1)


def rotation_angle_deg(rot_a: torch.Tensor, rot_b: torch.Tensor) -> torch.Tensor:
    """Angle of rot_a^T rot_b in degrees: [..., 3, 3] x2 -> [...]."""
    rel = rot_a.transpose(-1, -2) @ rot_b
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.acos(cos))


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """Quaternions [..., 4] (w, x, y, z; any norm) -> rotation matrices [..., 3, 3]."""
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    rot = torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    )
    return rot.reshape(*quats.shape[:-1], 3, 3)


def rotmat_to_quat(rot: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] -> unit quaternions [..., 4] (w, x, y, z), w >= 0.

    Builds the four candidate quaternions (one per largest diagonal term) and keeps the best
    conditioned one, so it is stable for every rotation.
    """
    m = rot
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    diag = [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22]
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s01, s02, s12 = m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1]
    cands = torch.stack(
        [
            torch.stack([diag[0], d21, d02, d10], -1),
            torch.stack([d21, diag[1], s01, s02], -1),
            torch.stack([d02, s01, diag[2], s12], -1),
            torch.stack([d10, s02, s12, diag[3]], -1),
        ],
        dim=-2,
    )  # [..., 4, 4]: row i is 4 q_i q for candidate i
    best = torch.stack(diag, -1).argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = torch.nn.functional.normalize(q, dim=-1)
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


def _vector_norm(v: Array) -> Array:
    """[..., 3] -> [..., 1] Euclidean norms, by numpy's or torch's own routine."""
    if isinstance(v, np.ndarray):
        # one vector at a time: np.linalg.norm of a vector is a BLAS dot, which differs from the axis-wise
        # reduction in the last bit on some CPUs, and the generated scenes must not depend on the machine
        rows = v.reshape(-1, v.shape[-1])
        return np.array([np.linalg.norm(r) for r in rows]).reshape(*v.shape[:-1], 1)
    return torch.linalg.vector_norm(v, dim=-1, keepdim=True)


@overload
def look_at(eye: torch.Tensor, target: Array, up: Optional[Array] = None) -> torch.Tensor: ...
@overload
def look_at(eye: np.ndarray, target: Array, up: Optional[Array] = None) -> np.ndarray: ...
def look_at(eye: Array, target: Array, up: Optional[Array] = None) -> Array:
    """Camera-to-world [..., 4, 4] of cameras at eye [..., 3] looking at target [..., 3], their y axis
    towards up [..., 3] (default +z); looking straight along up, the x axis is taken from +y instead.

    Tensors in, a tensor out. numpy arrays in (the synthetic generator), a float64 array out,
    computed with numpy's own cross product and norm: torch's differ from them in the last bit, and
    the generated scenes must not change.
    """
    xp: Any
    if isinstance(eye, np.ndarray):
        xp, cross = np, np.cross
        eye, target = eye.astype(np.float64), np.asarray(target, dtype=np.float64)
        up_axis, y_axis = np.asarray((0.0, 0.0, 1.0) if up is None else up, dtype=np.float64), np.array([0.0, 1.0, 0.0])
    else:
        xp, cross = torch, torch.linalg.cross
        up_axis = (torch.tensor([0.0, 0.0, 1.0]) if up is None else torch.as_tensor(up)).to(eye)
        y_axis = torch.tensor([0.0, 1.0, 0.0]).to(eye)
    z = eye - target  # the camera looks down -z
    z = z / _vector_norm(z)
    x = cross(xp.broadcast_to(up_axis, z.shape), z)
    x = xp.where(_vector_norm(x) < 1e-8, cross(xp.broadcast_to(y_axis, z.shape), z), x)
    x = x / _vector_norm(x)
    y = cross(z, x)
    bottom = xp.zeros_like(xp.stack([z, z, z, z], -1)[..., :1, :])  # [..., 1, 4]
    bottom[..., 0, 3] = 1.0
    return xp.concatenate([xp.stack([x, y, z, eye], -1), bottom], -2)
