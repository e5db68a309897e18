"""``learn2talk-data``: a head capture with a tracked mesh per image, for the Gaussian avatar.

Layout (nerfstudio-data plus three keys)::

    transforms.json   frames: file_path, transform_matrix, vertices_path (an [V, 3] .npy);
                      top level: template_path ([V, 3] .npy), faces_path ([F, 3] integer .npy),
                      intrinsics and train/val/test_filenames as nerfstudio-data
    images/*.png      RGBA (alpha = the head's coverage) or RGB
    vertices/*.npy    the mesh of each image (images of one instant share a file)

The parser is ``portable-nerfstudio-data`` (same checks, same coordinates) plus: each camera
carries its image's vertices as ``camera.metadata["vertices"]`` ([N, V * 3], flattened because
nerfstudio keeps only a metadata tensor's last dimension), and the outputs' metadata holds the
template (``avatar_template`` [V, 3]), faces (``avatar_faces`` [F, 3]), the split's distinct
meshes (``avatar_frames`` [K, V, 3], one per instant, in order of first appearance) and the
capture -> dataparser linear map of offsets (``avatar_capture_linear`` [3, 3]). Vertices go through
the same transform and scale as the poses. By default the capture's world is kept as it is
(no re-orientation, centring or scaling), so the mesh and the cameras stay where the tracker put them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Literal, Type

import numpy as np
import torch
from nerfstudio.plugins.registry_dataparser import DataParserSpecification

from ns_plugins.data.dataparser import (
    PortableNerfstudioDataParser,
    PortableNerfstudioDataParserConfig,
    load_transforms,
    locate_transforms,
)
from ns_plugins.data.errors import DataError

VERTICES_KEY = "vertices"
"""Camera metadata key: [N, V * 3] mesh vertices of each image, in dataparser coordinates."""
TEMPLATE_KEY = "avatar_template"
FACES_KEY = "avatar_faces"
FRAMES_KEY = "avatar_frames"
"""Outputs metadata: [K, V, 3] the split's distinct meshes (images of one instant share one)."""
CAPTURE_LINEAR_KEY = "avatar_capture_linear"
"""Outputs metadata: [3, 3] maps a capture-world offset to dataparser coordinates (rotation x scale)."""


def load_array(path: Path, what: str) -> np.ndarray:
    """np.load with a one-line DataError naming the file when it is missing or unreadable."""
    if not path.is_file():
        raise DataError(path, f"{what} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as err:  # ValueError, OSError, EOFError, ... for a file that is not an .npy
        raise DataError(path, f"{what} cannot be read as a .npy array ({type(err).__name__}: {err})") from None


def load_mesh_topology(meta: dict, data_dir: Path, transforms_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """template [V, 3] float32 and faces [F, 3] int64 named by transforms.json, checked."""
    for key in ("template_path", "faces_path"):
        if not isinstance(meta.get(key), str):
            raise DataError(transforms_path, f"no '{key}' (the avatar needs the mesh template and its faces)")
    template_path, faces_path = data_dir / meta["template_path"], data_dir / meta["faces_path"]
    template = load_array(template_path, "template mesh (template_path)")
    if template.ndim != 2 or template.shape[1] != 3 or len(template) < 3 or not np.isfinite(template).all():
        raise DataError(template_path, f"template must be a finite [V, 3] array, got shape {list(template.shape)}")
    faces = load_array(faces_path, "mesh faces (faces_path)")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0 or faces.dtype.kind not in "iu":
        raise DataError(
            faces_path, f"faces must be an integer [F, 3] array, got {faces.dtype} shape {list(faces.shape)}"
        )
    if faces.min() < 0 or faces.max() >= len(template):
        raise DataError(
            faces_path,
            f"face vertex ids must lie in [0, {len(template) - 1}] (the template's {len(template)} vertices), got "
            f"{faces.min()}..{faces.max()}",
        )
    return template.astype(np.float32), faces.astype(np.int64)


def load_frame_vertices(meta: dict, data_dir: Path, transforms_path: Path, num_vertices: int) -> Dict[str, np.ndarray]:
    """Image file name -> its vertices [V, 3] (float32) for every frame; each file read once and checked."""
    cache: Dict[Path, np.ndarray] = {}
    by_image: Dict[str, np.ndarray] = {}
    for i, frame in enumerate(meta["frames"]):
        name = Path(frame["file_path"]).name
        rel = frame.get("vertices_path")
        if not isinstance(rel, str):
            raise DataError(transforms_path, f"frame {i} ({frame['file_path']}) has no 'vertices_path'")
        path = data_dir / rel
        if path not in cache:
            verts = load_array(path, f"vertices of frame {i} ({frame['file_path']})")
            if verts.ndim != 2 or verts.shape[1] != 3:
                raise DataError(path, f"vertices must be a [V, 3] array, got shape {list(verts.shape)}")
            if verts.shape[0] != num_vertices:
                raise DataError(path, f"has {verts.shape[0]} vertices but the template has {num_vertices}")
            if not np.isfinite(verts).all():
                raise DataError(path, "vertices contain NaN or inf")
            cache[path] = verts.astype(np.float32)
        if name in by_image:
            raise DataError(transforms_path, f"two frames have an image named {name} (image names must be unique)")
        by_image[name] = cache[path]
    return by_image


def to_dataparser_frame(points: torch.Tensor, transform: torch.Tensor, scale: float) -> torch.Tensor:
    """Capture-world points [..., 3] -> dataparser coordinates, as nerfstudio moves the poses."""
    return (points @ transform[:, :3].T + transform[:, 3]) * scale


@dataclass
class AvatarDataParserConfig(PortableNerfstudioDataParserConfig):
    """nerfstudio-data with a tracked mesh per image; the capture's world kept by default."""

    _target: Type = field(default_factory=lambda: AvatarDataParser)
    load_3D_points: bool = False
    """The Gaussians start on the mesh, not on seed points."""
    orientation_method: Literal["pca", "up", "vertical", "none"] = "none"
    center_method: Literal["poses", "focus", "none"] = "none"
    auto_scale_poses: bool = False


@dataclass
class AvatarDataParser(PortableNerfstudioDataParser):
    """portable-nerfstudio-data + per-image mesh vertices in the cameras' metadata."""

    config: AvatarDataParserConfig

    def _generate_dataparser_outputs(self, split: str = "train"):
        transforms_path, data_dir = locate_transforms(self.config.data)
        meta = load_transforms(transforms_path)
        template, faces = load_mesh_topology(meta, data_dir, transforms_path)
        vertices = load_frame_vertices(meta, data_dir, transforms_path, len(template))
        outputs = super()._generate_dataparser_outputs(split)
        transform, scale = outputs.dataparser_transform, float(outputs.dataparser_scale)
        per_image = torch.from_numpy(np.stack([vertices[Path(f).name] for f in outputs.image_filenames]))
        cameras = outputs.cameras
        cameras.metadata = {
            **(cameras.metadata or {}),
            VERTICES_KEY: to_dataparser_frame(per_image, transform, scale).reshape(len(per_image), -1),
        }
        outputs.metadata[TEMPLATE_KEY] = to_dataparser_frame(torch.from_numpy(template), transform, scale)
        outputs.metadata[FACES_KEY] = torch.from_numpy(faces)
        # images of one instant share one array (load_frame_vertices reads each file once): dedupe by identity
        distinct = list({id(vertices[Path(f).name]): vertices[Path(f).name] for f in outputs.image_filenames}.values())
        outputs.metadata[FRAMES_KEY] = to_dataparser_frame(torch.from_numpy(np.stack(distinct)), transform, scale)
        outputs.metadata[CAPTURE_LINEAR_KEY] = scale * transform[:, :3]
        return outputs


learn2talk_dataparser = DataParserSpecification(
    config=AvatarDataParserConfig(),
    description="head capture for the learn2talk avatar: nerfstudio-data + a tracked mesh (.npy vertices) per image",
)
