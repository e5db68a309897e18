"""A synthetic head capture for the avatar: the talking head mesh, seen by a rig of cameras.

The procedural head (``head_mesh.py``) is deformed by smooth random talking coefficients over
``num_train_frames`` instants; every instant is photographed by the same rig of cameras spread
over the front of the head. Held-out instants come from another random sequence (expressions the
avatar never saw), photographed by the same rig. Images are rendered by the z-buffered triangle
rasterizer of ``talking_head/render_mesh.py`` (vertex colours, Lambert shading with interpolated
normals, supersampled edges), not by Gaussians, so the avatar has to approximate a real surface.

    ns-l2t-avatar-synth --out data/avatar --width 64 --height 64

Layout: see ``avatar/dataparser.py``; plus ``gt/avatar.json`` (coefficients, camera and instant of
each image, generator parameters).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import tyro
from nerfstudio.utils.rich_utils import CONSOLE
from PIL import Image

from ns_plugins.data import writer
from ns_plugins.data.cameras import PinholeCamera, make_cameras, pinhole_intrinsics
from ns_plugins.data.errors import DataError, exits_on_data_error
from ns_plugins.learn2talk.synth.head_mesh import HeadMesh, deform, make_head_mesh
from ns_plugins.learn2talk.talking_head.render_mesh import shade_mesh
from ns_plugins.splat.geometry import look_at

GENERATOR_NAME = "ns-l2t-avatar-synth"
RIG_DEG = ((0.0, 0.0), (-35.0, 5.0), (35.0, 5.0), (-15.0, -15.0), (15.0, 20.0))
"""(yaw, pitch) of the rig's cameras in degrees; the first is the frontal camera."""
COEFF_MAX = {"jaw_open": 1.0, "lip_round": 0.8, "lip_spread": 0.8, "lip_press": 0.6, "brow_raise": 0.8, "blink": 1.0}


def render_head(
    vertices: torch.Tensor, faces: torch.Tensor, colors: torch.Tensor, camera: PinholeCamera, supersample: int = 3
) -> np.ndarray:
    """Shaded RGBA image [H, W, 4] in [0, 1] (colour not premultiplied; alpha = coverage) of a head pose.

    vertices [V, 3], faces [F, 3], colors [V, 3]. Rendered at ``supersample`` x the resolution and
    box-filtered, so edges are anti-aliased.
    """
    K = torch.tensor(camera.intrinsics_matrix(), dtype=torch.float32)
    c2w = torch.tensor(camera.c2w, dtype=torch.float32)
    return shade_mesh(vertices, faces, colors, c2w, K, camera.width, camera.height, supersample)


def talking_coefficients(mesh: HeadMesh, num_frames: int, seed: int, fps: float = 25.0) -> torch.Tensor:
    """Smooth random talking coefficients [T, K] in [0, COEFF_MAX] (sums of a few slow sinusoids)."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None] / fps
    coeffs = np.zeros((num_frames, len(mesh.basis_names)))
    for k, name in enumerate(mesh.basis_names):
        freqs = rng.uniform(0.5, 4.0, 3)
        phases = rng.uniform(0, 2 * math.pi, 3)
        wave = 0.45 + 1.2 * np.sin(2 * math.pi * freqs * t + phases).mean(-1) + rng.uniform(-0.15, 0.15)
        coeffs[:, k] = np.clip(wave, 0.0, 1.0) * COEFF_MAX.get(name, 1.0)
    return torch.tensor(coeffs, dtype=torch.float32)


def rig_cameras(
    width: int, height: int, distance: float = 3.4, fov_deg: float = 40.0, rig: Sequence[tuple[float, float]] = RIG_DEG
) -> list[PinholeCamera]:
    """Cameras at ``distance`` around the head's front (yaw, pitch in degrees), looking at its centre, y up."""
    poses = []
    for yaw, pitch in rig:
        a, b = math.radians(yaw), math.radians(pitch)
        eye = distance * np.array([math.sin(a) * math.cos(b), math.sin(b), math.cos(a) * math.cos(b)])
        poses.append(look_at(eye, np.zeros(3), up=np.array([0.0, 1.0, 0.0])))
    return make_cameras(np.stack(poses), *pinhole_intrinsics(width, height, fov_deg), width, height)


def _write_rgba(path: Path, rgba: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(writer.to_uint8(rgba), mode="RGBA").save(path)


def generate_avatar_dataset(
    out: Path | str,
    seed: int = 0,
    num_train_frames: int = 30,
    num_test_frames: int = 8,
    num_cameras: int = len(RIG_DEG),
    width: int = 64,
    height: int = 64,
    mesh_resolution: int = 32,
    supersample: int = 3,
    overwrite: bool = False,
    head_offsets: Sequence[Sequence[float]] | None = None,
) -> Path:
    """Write the synthetic avatar capture (see the module docstring) -> the dataset folder.

    ``head_offsets``: a translation [3] per instant (training instants, then held-out ones), added
    to its mesh: a head that moves, as real tracked meshes do (default: the head stays put).
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        marker = out / "gt" / "avatar.json"
        if not (overwrite and marker.is_file() and GENERATOR_NAME in marker.read_text()):
            raise DataError(
                out, "output folder is not empty (pass overwrite to replace a dataset written by this generator)"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if not 1 <= num_cameras <= len(RIG_DEG):
        raise ValueError(f"num_cameras must be in [1, {len(RIG_DEG)}]")
    mesh = make_head_mesh(mesh_resolution)
    cameras = rig_cameras(width, height, rig=RIG_DEG[:num_cameras])
    coeffs = torch.cat(
        [talking_coefficients(mesh, num_train_frames, seed), talking_coefficients(mesh, num_test_frames, seed + 1000)]
    )
    vertices = deform(mesh, coeffs)
    if head_offsets is not None:
        offsets = torch.as_tensor(head_offsets, dtype=torch.float32)
        if offsets.shape != (len(coeffs), 3):
            raise ValueError(f"head_offsets must be [{len(coeffs)}, 3] (one per instant), got {list(offsets.shape)}")
        vertices = vertices + offsets[:, None]
    np.save(out / "template.npy", mesh.template.numpy())
    np.save(out / "faces.npy", mesh.faces.numpy())

    stems, image_cameras, frame_keys, records, train, test = [], [], {}, [], [], []
    for instant in range(len(coeffs)):
        vert_rel = f"vertices/{writer.frame_stem(instant)}.npy"
        (out / "vertices").mkdir(exist_ok=True)
        np.save(out / vert_rel, vertices[instant].numpy())
        for c, camera in enumerate(cameras):
            stem = f"{writer.frame_stem(instant)}_cam{c}"
            _write_rgba(
                out / writer.image_relpath(stem),
                render_head(vertices[instant], mesh.faces, mesh.vertex_colors, camera, supersample),
            )
            stems.append(stem)
            image_cameras.append(camera)
            frame_keys[stem] = {"vertices_path": vert_rel}
            (train if instant < num_train_frames else test).append(stem)
            records.append({"image": stem, "instant": instant, "camera": c})
    transforms = writer.transforms_dict(image_cameras, stems, train, test, ply_file_path=None)
    transforms = writer.merge_frame_keys(transforms, frame_keys)
    transforms.update({"template_path": "template.npy", "faces_path": "faces.npy"})
    writer.write_json(out / "transforms.json", transforms)
    writer.write_json(
        out / "gt" / "avatar.json",
        {
            "generator": GENERATOR_NAME,
            "seed": seed,
            "basis_names": mesh.basis_names,
            "coefficients": coeffs.tolist(),
            "num_train_frames": num_train_frames,
            "num_test_frames": num_test_frames,
            "rig_deg": [list(r) for r in RIG_DEG[:num_cameras]],
            "mesh_resolution": mesh_resolution,
            "head_offsets": None if head_offsets is None else [list(map(float, o)) for o in head_offsets],
            "images": records,
        },
    )
    return out


@dataclass
class AvatarSynthArgs:
    out: Path
    """Dataset folder to write."""
    seed: int = 0
    num_train_frames: int = 30
    """Instants of the training sequence (each seen by every rig camera)."""
    num_test_frames: int = 8
    """Held-out instants, from another random sequence."""
    num_cameras: int = len(RIG_DEG)
    width: int = 64
    height: int = 64
    mesh_resolution: int = 32
    overwrite: bool = False


@exits_on_data_error
def entrypoint() -> None:
    args = tyro.cli(AvatarSynthArgs)
    path = generate_avatar_dataset(
        args.out,
        args.seed,
        args.num_train_frames,
        args.num_test_frames,
        args.num_cameras,
        args.width,
        args.height,
        args.mesh_resolution,
        overwrite=args.overwrite,
    )
    CONSOLE.print(f"wrote {path}")


if __name__ == "__main__":
    entrypoint()
