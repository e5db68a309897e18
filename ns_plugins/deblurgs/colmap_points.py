"""Seed points from a COLMAP model, moved into the frame of the scene's ``poses_bounds.npy``.

LLFF's ``imgs2poses`` writes poses_bounds.npy in COLMAP's world frame, but a scene may have been
recentred or rescaled after COLMAP ran. The points are therefore mapped by the similarity that
takes the COLMAP camera centres (``images.bin``) onto the poses_bounds centres of the same images
(matched by file stem: the published scenes list ``.jpg`` in COLMAP and ship ``.png`` in
``images_4/``); with fewer than 3 matched images the frames are taken to be the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from nerfstudio.data.utils import colmap_parsing_utils as colmap_utils

from ns_plugins.data.errors import DataError


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> Tuple[float, np.ndarray, np.ndarray]:
    """Least-squares s, R [3, 3], t [3] with dst ~ s R src + t (Umeyama), src/dst [N, 3], N >= 3."""
    mu_src, mu_dst = src.mean(0), dst.mean(0)
    a, b = src - mu_src, dst - mu_dst
    var_src = (a**2).sum() / len(src)
    if var_src < 1e-12:
        return 1.0, np.eye(3), mu_dst - mu_src
    u, d, vt = np.linalg.svd(b.T @ a / len(src))
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1.0
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / var_src)
    return scale, rot, mu_dst - scale * rot @ mu_src


def read_colmap_points(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """points3D.bin (or .txt) -> (xyz [P, 3] float64, rgb [P, 3] uint8); DataError when unreadable."""
    reader = colmap_utils.read_points3D_text if path.suffix == ".txt" else colmap_utils.read_points3D_binary
    try:
        points = reader(path)
    except Exception as err:  # struct.error, ValueError, UnicodeDecodeError, OSError on a damaged file
        raise DataError(path, f"cannot be read as a COLMAP points file ({type(err).__name__}: {err})") from None
    if not points:
        raise DataError(path, "holds no 3D points")
    xyz = np.array([p.xyz for p in points.values()], dtype=np.float64)
    rgb = np.array([p.rgb for p in points.values()], dtype=np.uint8)
    if not np.isfinite(xyz).all():
        raise DataError(path, "has non-finite point coordinates")
    return xyz, rgb


def colmap_camera_centres(sparse: Path) -> Dict[str, np.ndarray]:
    """Image stem -> camera centre [3] in COLMAP's world, from images.bin/.txt ({} when absent or unreadable)."""
    for name, reader in (
        ("images.bin", colmap_utils.read_images_binary),
        ("images.txt", colmap_utils.read_images_text),
    ):
        if (sparse / name).is_file():
            try:
                images = reader(sparse / name)
            except Exception:  # the points are still usable in COLMAP's own frame
                return {}
            return {
                Path(im.name).stem: -colmap_utils.qvec2rotmat(im.qvec).T @ np.asarray(im.tvec, dtype=np.float64)
                for im in images.values()
            }
    return {}


def points_in_pose_frame(
    sparse: Path, stems: Sequence[str], centres: np.ndarray
) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """COLMAP points of ``sparse`` mapped into the frame of poses whose camera centres are ``centres``
    [N, 3] (image ``stems`` [N]) -> (xyz [P, 3], rgb [P, 3] uint8); None when there is no points file."""
    path = next((sparse / n for n in ("points3D.bin", "points3D.txt") if (sparse / n).is_file()), None)
    if path is None:
        return None
    xyz, rgb = read_colmap_points(path)
    colmap_centres = colmap_camera_centres(sparse)
    matched = [(colmap_centres[s], c) for s, c in zip(stems, centres) if s in colmap_centres]
    if len(matched) >= 3:
        src, dst = (np.stack(side) for side in zip(*matched))
        scale, rot, shift = similarity_transform(src, dst)
        xyz = scale * xyz @ rot.T + shift
    return xyz, rgb
