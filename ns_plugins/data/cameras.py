"""Camera sampling for synthetic captures: orbit poses, pinhole intrinsics, train/test split.

Poses are camera-to-world [4, 4] in the nerfstudio/OpenGL convention (camera looks down -z,
y up, x right). The world is z-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ns_plugins.splat.geometry import look_at


@dataclass(frozen=True, eq=False)  # eq would compare arrays element-wise
class PinholeCamera:
    """One view: c2w [4, 4] (OpenGL convention) and pinhole intrinsics in pixels."""

    c2w: np.ndarray
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def intrinsics_matrix(self) -> np.ndarray:
        """K [3, 3] (OpenCV pixel convention, pixel centres at +0.5)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def pinhole_intrinsics(width: int, height: int, fov_x_deg: float = 50.0) -> tuple[float, float, float, float]:
    """Square-pixel intrinsics (fx, fy, cx, cy) for a horizontal field of view; principal point at the centre."""
    fx = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2)
    return fx, fx, width / 2.0, height / 2.0


def orbit_poses(
    n: int,
    center: np.ndarray,
    radius: float,
    rng: np.random.Generator,
    elevation_deg: tuple[float, float] = (20.0, 50.0),
    radius_jitter: float = 0.08,
    target_jitter: float = 0.05,
) -> np.ndarray:
    """n c2w poses [n, 4, 4] on a hemisphere around center [3], all looking near the centre.

    Azimuths are evenly spaced over one turn (plus a small random offset each), elevations
    sweep the range twice, radii vary by +-radius_jitter (relative), targets by +-target_jitter:
    consecutive indices are neighbouring views, so interleaved test views lie between training ones.
    """
    center = np.asarray(center, dtype=np.float64)
    base = rng.uniform(0, 2 * math.pi)
    poses = np.empty((n, 4, 4))
    lo, hi = elevation_deg
    for i in range(n):
        azimuth = base + 2 * math.pi * i / max(n, 1) + rng.uniform(-0.3, 0.3) * math.pi / max(n, 1)
        sweep = 0.5 - 0.5 * math.cos(4 * math.pi * i / max(n, 1))
        elevation = math.radians(lo + (hi - lo) * sweep + rng.uniform(-2.0, 2.0))
        r = radius * (1 + rng.uniform(-radius_jitter, radius_jitter))
        eye = center + r * np.array(
            [math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth), math.sin(elevation)]
        )
        target = center + rng.uniform(-target_jitter, target_jitter, 3)
        poses[i] = look_at(eye, target)
    return poses


def interleaved_split(num_train: int, num_test: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train [num_train], test [num_test]) into num_train + num_test orbit-ordered views.

    Test views are spread evenly through the sequence (never first or last when avoidable),
    so each lies between training views.
    """
    total = num_train + num_test
    if num_test == 0:
        return np.arange(total), np.zeros(0, dtype=np.int64)
    test = np.unique(np.floor((np.arange(num_test) + 0.5) * total / num_test).astype(np.int64))
    test = np.clip(test, 0, total - 1)
    train = np.setdiff1d(np.arange(total), test)
    return train, test


def make_cameras(
    poses: np.ndarray, fx: float, fy: float, cx: float, cy: float, width: int, height: int
) -> list[PinholeCamera]:
    """Pair poses [N, 4, 4] with shared intrinsics -> N cameras."""
    return [PinholeCamera(np.asarray(p, dtype=np.float64), fx, fy, cx, cy, width, height) for p in poses]
