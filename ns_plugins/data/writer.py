"""Writers for a synthetic dataset in nerfstudio-data format, with ground truth beside it.

Layout of a dataset folder (stems are ``frame_00000``, ``frame_00001``, ... in orbit order)::

    transforms.json             nerfstudio-data: OPENCV intrinsics, frames, explicit splits, ply_file_path
    images/<stem>.png           what methods train on (possibly degraded; test views are clean)
    points.ply                  seed points: binary PLY, float x, y, z and uchar red, green, blue
    gt/scene.json               seed, generator parameters, objects and instance ids, split, degradation info
    gt/clean/<stem>.png         clean render of every frame (the target for deblurring/deraining)
    gt/depth/<stem>.npy         float32 [H, W] z-depth along the camera's -z axis, inf for background
    gt/instance/<stem>.png      16-bit [H, W] instance ids (0 background, 1 ground, 2.. objects)
    gt/points_instance.npy      int32 [N] instance id of each seed point

Each function writes one kind of file so that degradations can reuse them for their extras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image
from plyfile import PlyData, PlyElement

from ns_plugins.data.cameras import PinholeCamera

IMAGES_DIR = "images"
PLY_NAME = "points.ply"
GT_DIR = "gt"
CLEAN_DIR = "gt/clean"
DEPTH_DIR = "gt/depth"
INSTANCE_DIR = "gt/instance"
SCENE_JSON = "gt/scene.json"
POINTS_INSTANCE = "gt/points_instance.npy"


def frame_stem(index: int) -> str:
    """File stem of frame `index`: zero-padded so that name order is frame order."""
    return f"frame_{index:05d}"


def image_relpath(stem: str) -> str:
    """Path of a frame's training image relative to the dataset root."""
    return f"{IMAGES_DIR}/{stem}.png"


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float image [H, W, C] in [0, 1] -> uint8 [H, W, C] (rounded, clipped)."""
    return np.round(np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def write_rgb_png(path: Path, rgb: np.ndarray) -> Path:
    """Write a float image [H, W, 3] in [0, 1] as an 8-bit RGB PNG (creates parent folders)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(rgb)).save(path)
    return path


def write_uint16_png(path: Path, array: np.ndarray) -> Path:
    """Write an integer map [H, W] with values in [0, 65535] as a 16-bit grayscale PNG."""
    array = np.asarray(array)
    if array.min(initial=0) < 0 or array.max(initial=0) > 65535:
        raise ValueError(f"{path}: values outside [0, 65535]")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint16)).save(path)
    return path


def read_uint16_png(path: Path) -> np.ndarray:
    """Read a 8- or 16-bit grayscale PNG -> int32 [H, W]."""
    with Image.open(path) as img:
        return np.asarray(img).astype(np.int32)


def write_depth_npy(path: Path, depth: np.ndarray) -> Path:
    """Write a depth map [H, W] as float32 .npy (inf where nothing was hit)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(depth, dtype=np.float32))
    return path


def write_points_ply(path: Path, xyz: np.ndarray, rgb: np.ndarray) -> Path:
    """Write points xyz [N, 3] with colours rgb [N, 3] uint8 as a binary little-endian PLY."""
    xyz = np.asarray(xyz, dtype=np.float32).reshape(-1, 3)
    rgb = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
    if len(xyz) != len(rgb):
        raise ValueError(f"{len(xyz)} points but {len(rgb)} colours")
    vertex = np.empty(
        len(xyz), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")]
    )
    for i, name in enumerate("xyz"):
        vertex[name] = xyz[:, i]
    for i, name in enumerate(("red", "green", "blue")):
        vertex[name] = rgb[:, i]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(str(path))
    return path


def write_json(path: Path, data: dict) -> Path:
    """Write a JSON file (indented, creates parent folders)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def transforms_dict(
    cameras: Sequence[PinholeCamera],
    stems: Sequence[str],
    train_stems: Iterable[str],
    test_stems: Iterable[str],
    ply_file_path: str | None = PLY_NAME,
) -> dict:
    """nerfstudio-data transforms.json content for cameras sharing one set of intrinsics.

    OPENCV model with zero distortion; frames in the order given; explicit train/val/test
    filename lists (val = test) so nerfstudio uses exactly this split.
    """
    first = cameras[0]
    if any(
        (c.fx, c.fy, c.cx, c.cy, c.width, c.height)
        != (first.fx, first.fy, first.cx, first.cy, first.width, first.height)
        for c in cameras
    ):
        raise ValueError("all cameras must share intrinsics")
    test_files = [image_relpath(s) for s in test_stems]
    data = {
        "camera_model": "OPENCV",
        "fl_x": float(first.fx),
        "fl_y": float(first.fy),
        "cx": float(first.cx),
        "cy": float(first.cy),
        "w": int(first.width),
        "h": int(first.height),
        "k1": 0.0,
        "k2": 0.0,
        "p1": 0.0,
        "p2": 0.0,
        "frames": [
            {"file_path": image_relpath(stem), "transform_matrix": np.asarray(cam.c2w, dtype=float).tolist()}
            for cam, stem in zip(cameras, stems)
        ],
        "train_filenames": [image_relpath(s) for s in train_stems],
        "val_filenames": test_files,
        "test_filenames": list(test_files),
    }
    if ply_file_path is not None:
        data["ply_file_path"] = ply_file_path
    return data


def merge_frame_keys(transforms: dict, frame_keys: dict[str, dict]) -> dict:
    """Copy of transforms with extra keys added to frames, looked up by image stem."""
    frames = []
    for frame in transforms["frames"]:
        stem = Path(frame["file_path"]).stem
        frames.append({**frame, **frame_keys.get(stem, {})})
    return {**transforms, "frames": frames}


def write_frame_ground_truth(out_dir: Path, stem: str, render: dict[str, np.ndarray]) -> dict[str, str]:
    """Write one frame's clean image, depth and instance map under gt/ -> their relative paths.

    render: render_view output (rgb [H, W, 3], depth [H, W], instance [H, W]).
    """
    out_dir = Path(out_dir)
    paths = {
        "clean": f"{CLEAN_DIR}/{stem}.png",
        "depth": f"{DEPTH_DIR}/{stem}.npy",
        "instance": f"{INSTANCE_DIR}/{stem}.png",
    }
    write_rgb_png(out_dir / paths["clean"], render["rgb"])
    write_depth_npy(out_dir / paths["depth"], render["depth"])
    write_uint16_png(out_dir / paths["instance"], render["instance"])
    return paths
