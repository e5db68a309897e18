"""The one geometry module: quaternions and look-at give the numbers of the functions they replaced."""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import torch

from ns_plugins.splat.geometry import look_at, quat_multiply, quat_to_rotmat, rotmat_to_quat, so3_exp


def random_rotations(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    axis_angle = torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)
    return so3_exp(axis_angle * torch.rand(n, 1, generator=g, dtype=torch.float64) * math.pi)


def old_numpy_look_at(eye: np.ndarray, target: np.ndarray, up: Union[np.ndarray, tuple] = (0, 0, 1.0)) -> np.ndarray:
    """The synthetic generator's look_at before the geometry module (data/cameras.py)."""
    eye = np.asarray(eye, dtype=np.float64)
    z = eye - np.asarray(target, dtype=np.float64)
    z /= np.linalg.norm(z)
    x = np.cross(np.asarray(up, dtype=np.float64), z)
    if np.linalg.norm(x) < 1e-8:
        x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w


def old_torch_look_at(eye: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """deblurgs' look_at_c2w (and the splat tests' copy) before the geometry module: [3, 4]."""
    z = eye - target
    z = z / z.norm()
    x = torch.linalg.cross(torch.tensor([0.0, 0.0, 1.0]).to(z), z)
    x = x / x.norm()
    return torch.stack([x, torch.linalg.cross(z, x), z, eye], -1)


def old_tum_quaternion(m: np.ndarray) -> np.ndarray:
    """deblurgs' export rotation_to_quaternion before the geometry module: (x, y, z, w), w >= 0."""
    w = np.sqrt(np.clip(1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2], 0, None)) / 2
    x = np.sqrt(np.clip(1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2], 0, None)) / 2
    y = np.sqrt(np.clip(1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], 0, None)) / 2
    z = np.sqrt(np.clip(1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2], 0, None)) / 2
    x = np.copysign(x, m[..., 2, 1] - m[..., 1, 2])
    y = np.copysign(y, m[..., 0, 2] - m[..., 2, 0])
    z = np.copysign(z, m[..., 1, 0] - m[..., 0, 1])
    q = np.stack([x, y, z, w], -1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def test_look_at_is_bit_identical_to_the_functions_it_replaced() -> None:
    rng = np.random.default_rng(0)
    for i in range(300):
        eye, target = rng.normal(size=3) * rng.uniform(0.1, 5.0), rng.normal(size=3) * 0.3
        up = rng.normal(size=3) if i % 2 else np.array([0.0, 0.0, 1.0])
        assert np.array_equal(look_at(eye, target, up), old_numpy_look_at(eye, target, up))  # scenes unchanged
        eye_t, target_t = torch.from_numpy(eye).float(), torch.from_numpy(target).float()
        assert torch.equal(look_at(eye_t, target_t)[:3], old_torch_look_at(eye_t, target_t))
    eyes = rng.normal(size=(5, 3))
    batch = look_at(eyes, np.zeros(3))
    assert all(np.array_equal(batch[i], old_numpy_look_at(eyes[i], np.zeros(3))) for i in range(5))
    straight_down = look_at(np.array([0.0, 0.0, 3.0]), np.zeros(3))  # along up: x from +y
    assert np.array_equal(straight_down, old_numpy_look_at(np.array([0.0, 0.0, 3.0]), np.zeros(3)))


def test_look_at_convention() -> None:
    c2w = look_at(torch.tensor([0.0, -3.0, 0.0], dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(c2w[:3, :3] @ c2w[:3, :3].T, torch.eye(3, dtype=torch.float64))
    assert torch.allclose(-c2w[:3, 2], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))  # looks at the target
    assert torch.allclose(c2w[:3, 1], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))  # y towards up
    assert torch.equal(c2w[3], torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64))


def test_quaternions_round_trip_and_match_the_export_formula() -> None:
    rots = random_rotations(500)
    q = rotmat_to_quat(rots)
    assert (q[:, 0] >= 0).all() and torch.allclose(q.norm(dim=-1), torch.ones(500, dtype=torch.float64))
    assert torch.allclose(quat_to_rotmat(q), rots, atol=1e-12)
    assert torch.allclose(quat_to_rotmat(3.0 * q), rots, atol=1e-12)  # any norm
    old, new = old_tum_quaternion(rots.numpy()), q.numpy()[:, [1, 2, 3, 0]]
    # the old formula loses digits on small components (the root of a difference): 4e-12 here
    assert np.abs(new - old).max() < 1e-10
    assert [f"{v:.8f}" for v in new.ravel()] == [f"{v:.8f}" for v in old.ravel()]  # as the TUM export prints them


def test_quaternion_product_is_the_rotation_product() -> None:
    a, b = random_rotations(64, seed=1), random_rotations(64, seed=2)
    product = quat_multiply(rotmat_to_quat(a), rotmat_to_quat(b))
    assert torch.allclose(quat_to_rotmat(product), a @ b, atol=1e-12)
