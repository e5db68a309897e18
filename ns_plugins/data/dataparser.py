"""nerfstudio-data parser that installs anywhere and says what is wrong with a dataset.

``portable-nerfstudio-data`` is nerfstudio's ``nerfstudio-data`` parser with two changes:

- seed points are read with plyfile (the stock parser imports open3d, which fails to import on
  machines without libusb), and are loaded by default (``load_3D_points=True``);
- the dataset is checked up front, and each problem is a one-line ``DataError`` naming the file
  (the stock parser fails with assertions or tracebacks deep in loading).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Type

import numpy as np
import torch
from nerfstudio.cameras.cameras import CAMERA_MODEL_TO_TYPE
from nerfstudio.data.dataparsers.nerfstudio_dataparser import Nerfstudio, NerfstudioDataParserConfig
from nerfstudio.plugins.registry_dataparser import DataParserSpecification
from plyfile import PlyData

from ns_plugins.data.errors import DataError
from ns_plugins.data.image_checks import check_frame_images

GREY = 128
_INTRINSIC_KEYS = ("fl_x", "fl_y", "cx", "cy", "w", "h")
_SPLITS = ("train", "val", "test")


# ----------------------------------------------------------------------------- validation


def locate_transforms(data: Path) -> tuple[Path, Path]:
    """data (a folder or a .json file) -> (transforms json path, data folder)."""
    data = Path(data)
    if not data.exists():
        raise DataError(data, f"data {'file' if data.suffix == '.json' else 'folder'} does not exist")
    if data.is_file() and data.suffix == ".json":
        return data, data.parent
    if not data.is_dir():
        raise DataError(data, "expected a data folder (or a transforms .json file)")
    path = data / "transforms.json"
    if not path.is_file():
        raise DataError(path, "no transforms.json in the data folder")
    return path, data


def load_transforms(path: Path) -> dict:
    """Parse transforms.json -> dict with a non-empty 'frames' list."""
    try:
        meta = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise DataError(path, f"not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot be read ({err})") from None
    if not isinstance(meta, dict):
        raise DataError(path, "expected a JSON object with a 'frames' list")
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise DataError(path, "no frames (expected a non-empty 'frames' list)")
    return meta


def check_frame_fields(meta: dict, path: Path) -> None:
    """Every frame has file_path and a 4x4 transform_matrix; intrinsics are global or per frame."""
    model = meta.get("camera_model")
    if model is not None and model not in CAMERA_MODEL_TO_TYPE:
        raise DataError(path, f"unknown camera_model {model!r} (known: {', '.join(CAMERA_MODEL_TO_TYPE)})")
    for i, frame in enumerate(meta["frames"]):
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str):
            raise DataError(path, f"frame {i} has no 'file_path'")
        try:
            pose = np.asarray(frame["transform_matrix"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DataError(path, f"frame {i} ({frame['file_path']}) has no numeric 'transform_matrix'") from None
        if pose.shape != (4, 4) or not np.isfinite(pose).all():
            raise DataError(path, f"frame {i} ({frame['file_path']}): transform_matrix must be a finite 4x4 matrix")
        missing = [k for k in _INTRINSIC_KEYS if k not in meta and k not in frame]
        if missing:
            raise DataError(
                path, f"frame {i} ({frame['file_path']}): no {', '.join(missing)} (neither global nor per frame)"
            )


def frame_image_paths(meta: dict, data_dir: Path, downscale_factor: Optional[int]) -> list[Path]:
    """Image files [N] that nerfstudio will read, in frame order (images_<d>/ when downscaled)."""
    paths = []
    for frame in meta["frames"]:
        rel = Path(frame["file_path"])
        if downscale_factor is not None and downscale_factor > 1:
            paths.append(data_dir / f"images_{downscale_factor}" / rel.name)
        else:
            paths.append(data_dir / rel)
    return paths


def check_camera_spread(meta: dict, path: Path) -> None:
    """The cameras are not all at one position (nerfstudio scales poses by their spread: a division by zero)."""
    positions = np.array([np.asarray(f["transform_matrix"], dtype=np.float64)[:3, 3] for f in meta["frames"]])
    if len(positions) > 1 and np.ptp(positions, axis=0).max() == 0.0:
        raise DataError(
            path, f"all {len(positions)} cameras are at the same position: nerfstudio cannot scale the scene"
        )


def frame_image_sizes(meta: dict, downscale_factor: Optional[int]) -> list[tuple[int, int]]:
    """(width, height) [N] each frame's camera gives its image (floored when downscaled, as nerfstudio does)."""
    factor = downscale_factor if downscale_factor is not None and downscale_factor > 1 else 1
    sizes = []
    for frame in meta["frames"]:
        width, height = (int(frame.get(k, meta.get(k))) for k in ("w", "h"))
        sizes.append((width // factor, height // factor))
    return sizes


def check_masks(meta: dict, data_dir: Path, transforms_path: Path) -> None:
    """Frames' mask_path / depth_file_path files exist (undownscaled datasets only)."""
    for i, frame in enumerate(meta["frames"]):
        for key in ("mask_path", "depth_file_path"):
            if key in frame and not (data_dir / frame[key]).is_file():
                raise DataError(data_dir / frame[key], f"{key} of frame {i} in {transforms_path.name} does not exist")


def check_split_lists(meta: dict, data_dir: Path, transforms_path: Path) -> None:
    """Split lists name only frames; when any split has a list, train and val (or test) have one too."""
    frames = {os.path.normpath(data_dir / f["file_path"]) for f in meta["frames"]}
    present = [s for s in _SPLITS if f"{s}_filenames" in meta]
    for split in present:
        names = meta[f"{split}_filenames"]
        if not isinstance(names, list):
            raise DataError(transforms_path, f"{split}_filenames must be a list of image paths")
        for name in names:
            if os.path.normpath(data_dir / str(name)) not in frames:
                raise DataError(transforms_path, f"{split}_filenames names {name!r}, which is not a frame's file_path")
    if present:
        for split in ("train", "val"):
            if f"{split}_filenames" not in meta:
                raise DataError(
                    transforms_path, f"has {present[0]}_filenames but no {split}_filenames (nerfstudio needs both)"
                )


def read_ply_points(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a PLY -> (xyz [N, 3] float32, rgb [N, 3] uint8; grey when it has no colours)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "seed point file (ply_file_path) does not exist")
    try:
        ply = PlyData.read(str(path))
        vertex = ply["vertex"]
        xyz = np.stack([np.asarray(vertex[k], dtype=np.float32) for k in "xyz"], axis=1)
    except Exception as err:  # plyfile raises PlyParseError, KeyError, ValueError, ...
        raise DataError(
            path, f"cannot be read as a PLY point cloud with x, y, z ({type(err).__name__}: {err})"
        ) from None
    names = {p.name for p in vertex.properties}
    if {"red", "green", "blue"} <= names:
        rgb = np.stack([np.asarray(vertex[k], dtype=np.float64) for k in ("red", "green", "blue")], axis=1)
        if np.asarray(vertex["red"]).dtype.kind == "f" and len(rgb) and rgb.max() <= 1.0:
            rgb = rgb * 255.0  # float colours in [0, 1]
        rgb = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    else:
        rgb = np.full((len(xyz), 3), GREY, dtype=np.uint8)
    return xyz.reshape(-1, 3), rgb.reshape(-1, 3)


def validate_nerfstudio_data(data: Path, downscale_factor: Optional[int] = None, load_3d_points: bool = True) -> None:
    """Raise DataError naming the file for the first problem found in a nerfstudio-data dataset."""
    transforms_path, data_dir = locate_transforms(data)
    meta = load_transforms(transforms_path)
    check_frame_fields(meta, transforms_path)
    paths = frame_image_paths(meta, data_dir, downscale_factor)
    check_frame_images(paths, frame_image_sizes(meta, downscale_factor), transforms_path)
    check_camera_spread(meta, transforms_path)
    if downscale_factor is None or downscale_factor == 1:
        check_masks(meta, data_dir, transforms_path)
    check_split_lists(meta, data_dir, transforms_path)
    if load_3d_points and "ply_file_path" in meta:
        read_ply_points(data_dir / meta["ply_file_path"])


# ----------------------------------------------------------------------------- parser


@dataclass
class PortableNerfstudioDataParserConfig(NerfstudioDataParserConfig):
    """nerfstudio-data without open3d, with up-front checks; seed points loaded by default."""

    _target: Type = field(default_factory=lambda: PortableNerfstudioDataParser)
    load_3D_points: bool = True
    """Whether to load the seed points named by ply_file_path (read with plyfile)."""


@dataclass
class PortableNerfstudioDataParser(Nerfstudio):
    """The stock Nerfstudio parser; validates first and reads PLY files with plyfile."""

    config: PortableNerfstudioDataParserConfig

    def _generate_dataparser_outputs(self, split: str = "train"):
        validate_nerfstudio_data(self.config.data, self.config.downscale_factor, self.config.load_3D_points)
        return super()._generate_dataparser_outputs(split)

    def _load_3D_points(self, ply_file_path: Path, transform_matrix: torch.Tensor, scale_factor: float):
        """Seed points in dataparser coordinates -> {points3D_xyz [N, 3] float, points3D_rgb [N, 3] uint8}, or None if
        empty."""
        xyz, rgb = read_ply_points(ply_file_path)
        if len(xyz) == 0:
            return None
        points = torch.from_numpy(xyz)
        points = torch.cat([points, torch.ones_like(points[..., :1])], -1) @ transform_matrix.T
        points *= scale_factor
        return {"points3D_xyz": points, "points3D_rgb": torch.from_numpy(rgb)}


portable_nerfstudio_dataparser = DataParserSpecification(
    config=PortableNerfstudioDataParserConfig(),
    description="nerfstudio-data without open3d: plyfile seed points (on by default), clear errors for bad datasets",
)
