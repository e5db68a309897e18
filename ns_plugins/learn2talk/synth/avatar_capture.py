"""A synthetic head capture for the avatar: the talking head mesh, seen by a rig of cameras.

The procedural head (``head_mesh.py``) is deformed by smooth random talking coefficients over
``num_train_frames`` instants; every instant is photographed by the same rig of cameras spread
over the front of the head. Held-out instants come from another random sequence (expressions the
avatar never saw), photographed by the same rig. Images are rendered by a z-buffered triangle
rasterizer (vertex colours, Lambert shading with interpolated normals, supersampled edges) that
has nothing to do with the Gaussian rasterizer, so the avatar has to approximate a real surface.

    ns-l2t-avatar-synth --out data/avatar --width 64 --height 64

Layout: see ``avatar_data.py``; plus ``gt/avatar.json`` (coefficients, camera and instant of
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
from PIL import Image

from ns_plugins.data import writer
from ns_plugins.data.cameras import PinholeCamera, look_at, make_cameras, pinhole_intrinsics
from ns_plugins.data.errors import DataError, exits_on_data_error
from ns_plugins.learn2talk.head_mesh import HeadMesh, deform, make_head_mesh, vertex_normals

GENERATOR_NAME = "ns-l2t-avatar-synth"
LIGHT_DIR = (0.35, 0.45, 1.0)
"""Key light direction (world, head faces +z, y up); fixed in the world, so shading follows the mesh."""
AMBIENT = 0.35
RIG_DEG = ((0.0, 0.0), (-35.0, 5.0), (35.0, 5.0), (-15.0, -15.0), (15.0, 20.0))
"""(yaw, pitch) of the rig's cameras in degrees; the first is the frontal camera."""
COEFF_MAX = {"jaw_open": 1.0, "lip_round": 0.8, "lip_spread": 0.8, "lip_press": 0.6, "brow_raise": 0.8, "blink": 1.0}


# ----------------------------------------------------------------------------- rasterizer


def project_points(points: torch.Tensor, c2w: torch.Tensor, K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World points [P, 3] -> pixel coordinates [P, 2] (pixel centres at +0.5) and depth [P] along the view.

    c2w: [4, 4] nerfstudio/OpenGL camera-to-world (camera looks down -z, y up); K: [3, 3].
    """
    cam = (points - c2w[:3, 3]) @ c2w[:3, :3]
    depth = -cam[:, 2]
    x = K[0, 0] * cam[:, 0] / depth + K[0, 2]
    y = K[1, 2] - K[1, 1] * cam[:, 1] / depth  # image rows grow downwards
    return torch.stack([x, y], -1), depth


def rasterize_triangles(
    pixels: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, attributes: torch.Tensor, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Z-buffered, perspective-correct rasterization of a triangle mesh, one sample per pixel centre.

    Every triangle is tested only against the pixel centres of its bounding box (pairs are
    generated in one vectorised batch), so the cost follows the covered area.

    Args:
        pixels: [V, 2] projected vertices; depth: [V] (> 0 in front of the camera).
        faces: [F, 3]; attributes: [V, A] interpolated per pixel.
        width, height: image size.

    Returns:
        image [H, W, A] (zeros where empty), coverage [H, W] bool.
    """
    tri, tri_depth = pixels[faces], depth[faces]  # [F, 3, 2], [F, 3]
    area = (tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1]) - (tri[:, 2, 0] - tri[:, 0, 0]) * (tri[:, 1, 1] - tri[:, 0, 1])
    keep = (tri_depth.min(1).values > 1e-3) & (area.abs() > 1e-12)
    faces, tri, tri_depth, area = faces[keep], tri[keep], tri_depth[keep], area[keep]
    lo = torch.ceil(tri.min(1).values - 0.5).clamp(min=0).long()  # first pixel whose centre is inside the box
    hi = torch.floor(tri.max(1).values - 0.5).long()
    hi[:, 0].clamp_(max=width - 1)
    hi[:, 1].clamp_(max=height - 1)
    size = (hi - lo + 1).clamp(min=0)  # [F, 2]
    counts = size[:, 0] * size[:, 1]
    face_of = torch.repeat_interleave(torch.arange(len(faces)), counts)
    local = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    px = lo[face_of, 0] + local % size[face_of, 0]
    py = lo[face_of, 1] + local // size[face_of, 0]
    p = torch.stack([px, py], -1).float() + 0.5
    t = tri[face_of]  # [P, 3, 2]

    def edge(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (p[:, 0] - a[:, 0])

    bary = torch.stack([edge(t[:, 1], t[:, 2]), edge(t[:, 2], t[:, 0]), edge(t[:, 0], t[:, 1])], -1) / area[face_of, None]
    inside = (bary >= 0).all(-1)
    bary, face_of, pix = bary[inside], face_of[inside], (py * width + px)[inside]
    # perspective-correct: 1/z and attribute/z are affine in screen space
    w = bary / tri_depth[face_of]
    inv_z = w.sum(-1)
    zbuf = torch.full((width * height,), float("inf")).scatter_reduce(0, pix, 1.0 / inv_z, "amin")
    front = (1.0 / inv_z) <= zbuf[pix]
    sample = torch.arange(len(pix))
    winner = torch.full((width * height,), -1, dtype=torch.long).scatter_reduce(0, pix[front], sample[front], "amax")
    covered = winner >= 0
    chosen = winner[covered]
    values = torch.einsum("pk,pka->pa", w[chosen] / inv_z[chosen, None], attributes[faces[face_of[chosen]]])
    image = torch.zeros(width * height, attributes.shape[1], dtype=attributes.dtype)
    image[covered] = values
    return image.reshape(height, width, -1), covered.reshape(height, width)


def render_head(
    vertices: torch.Tensor, faces: torch.Tensor, colors: torch.Tensor, camera: PinholeCamera, supersample: int = 3
) -> np.ndarray:
    """Shaded RGBA image [H, W, 4] in [0, 1] (colour not premultiplied; alpha = coverage) of a head pose.

    vertices [V, 3], faces [F, 3], colors [V, 3]. Rendered at ``supersample`` x the resolution and
    box-filtered, so edges are anti-aliased.
    """
    s = supersample
    K = torch.tensor(camera.intrinsics_matrix(), dtype=torch.float32)
    K[:2] *= s
    pixels, depth = project_points(vertices.float(), torch.tensor(camera.c2w, dtype=torch.float32), K)
    attrs = torch.cat([colors.float(), vertex_normals(vertices.float(), faces)], -1)
    image, covered = rasterize_triangles(pixels, depth, faces, attrs, camera.width * s, camera.height * s)
    normal = torch.nn.functional.normalize(image[..., 3:], dim=-1)
    light = torch.nn.functional.normalize(torch.tensor(LIGHT_DIR), dim=0)
    rgb = image[..., :3] * (AMBIENT + (1 - AMBIENT) * (normal @ light).clamp(min=0))[..., None]
    rgba = torch.cat([rgb * covered[..., None], covered[..., None].float()], -1)  # premultiplied
    rgba = torch.nn.functional.avg_pool2d(rgba.permute(2, 0, 1)[None], s)[0].permute(1, 2, 0)
    alpha = rgba[..., 3:]
    rgb = torch.where(alpha > 0, rgba[..., :3] / alpha.clamp(min=1e-8), torch.zeros_like(rgba[..., :3]))
    return torch.cat([rgb.clamp(0, 1), alpha], -1).numpy()


# ----------------------------------------------------------------------------- capture


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


def rig_cameras(width: int, height: int, distance: float = 3.4, fov_deg: float = 40.0, rig: Sequence[tuple[float, float]] = RIG_DEG) -> list[PinholeCamera]:
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
            raise DataError(out, "output folder is not empty (pass overwrite to replace a dataset written by this generator)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if not 1 <= num_cameras <= len(RIG_DEG):
        raise ValueError(f"num_cameras must be in [1, {len(RIG_DEG)}]")
    mesh = make_head_mesh(mesh_resolution)
    cameras = rig_cameras(width, height, rig=RIG_DEG[:num_cameras])
    coeffs = torch.cat([talking_coefficients(mesh, num_train_frames, seed), talking_coefficients(mesh, num_test_frames, seed + 1000)])
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
            _write_rgba(out / writer.image_relpath(stem), render_head(vertices[instant], mesh.faces, mesh.vertex_colors, camera, supersample))
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
        args.out, args.seed, args.num_train_frames, args.num_test_frames, args.num_cameras, args.width, args.height, args.mesh_resolution, overwrite=args.overwrite
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    entrypoint()
