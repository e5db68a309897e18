"""``deblur-nerf-data``: the Deblur-NeRF dataset layout, as the published scenes ship it.

    scene/
      poses_bounds.npy   [N, 17] LLFF: 3x5 pose (rotation columns down/right/back, translation, h/w/f
                         at the full image size) + near/far
      images/            the N photos at full size, sorted by name ("images_1/" also accepted)
      images_4/ ...      the same photos downscaled 4x (LLFF's minify; any images_<k>/)
      images_test/       optional: sharp ground truth, one per photo in the same order (synthetic scenes)
      hold=7             optional empty marker file: views 0, 7, 14, ... are held out (published scenes)
      hold               optional file holding the stride instead (older copies)
      sparse/0/          optional COLMAP model; its points3D.bin seeds the Gaussians

``--downscale-factor N`` loads ``images_N/``, resizing ``images/`` (or a finer ``images_k/``, k
dividing N) into it when the folder is missing; unset, the full-size ``images/`` or else the
finest ``images_k/`` present. Intrinsics are scaled to the size of the images actually loaded.
Held-out views are every H-th (H from ``--hold``, a ``hold=H`` marker, the ``hold`` file, else
``default_hold`` when ``images_test/`` exists); ``--eval-mode all`` trains and evaluates on every
view (captures without held-out views). Held-out views are scored against their ``images_test/``
image when there is one, else against their own photo (the published real scenes put the sharp
held-out photos in the same folder). Each problem with the folder stops with one line naming the file.

The same scenes also load with nerfstudio's ``colmap`` parser when the image names in the COLMAP
model match the files: ``colmap --colmap-path sparse/0 --downscale-factor 4``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Literal, Optional, Tuple, Type

import numpy as np
import torch
from nerfstudio.cameras import camera_utils
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.dataparsers.base_dataparser import DataParser, DataParserConfig, DataparserOutputs
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.plugins.registry_dataparser import DataParserSpecification
from nerfstudio.utils.rich_utils import CONSOLE
from PIL import Image

from ns_plugins.data.errors import DataError
from ns_plugins.data.image_checks import check_frame_images
from ns_plugins.deblurgs.colmap_points import points_in_pose_frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
_HOLD_MARKER = re.compile(r"hold=(.*)")
_SCALED_FOLDER = re.compile(r"images_(\d+)")


def list_images(folder: Path) -> List[Path]:
    """Image files of folder [N], sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def parse_hold(source: object, text: str) -> int:
    """A hold stride written in ``source`` (a file's name or content, or a flag) -> int >= 2, else DataError."""
    try:
        hold = int(text.strip())
    except ValueError:
        raise DataError(source, f"expected an integer hold-out stride, got {text.strip()!r}") from None
    if hold < 2:
        raise DataError(source, f"hold-out stride must be at least 2 (every hold-th view is held out), got {hold}")
    return hold


def read_hold(data: Path, has_sharp: bool, default_hold: int) -> int:
    """Hold-out stride from a ``hold=N`` marker file or a ``hold`` file holding N (default_hold when
    images_test/ exists and neither does)."""
    markers = sorted(p for p in data.iterdir() if _HOLD_MARKER.fullmatch(p.name))
    if len(markers) > 1:
        raise DataError(markers[1], f"more than one hold-out marker ({', '.join(p.name for p in markers)})")
    holds = [(p, parse_hold(p, _HOLD_MARKER.fullmatch(p.name).group(1))) for p in markers]  # type: ignore[union-attr]
    if (data / "hold").is_file():
        holds.append((data / "hold", parse_hold(data / "hold", (data / "hold").read_text())))
    if len({h for _, h in holds}) > 1:
        raise DataError(holds[1][0], f"says hold {holds[1][1]} but {holds[0][0].name} says {holds[0][1]}")
    if holds:
        return holds[0][1]
    if has_sharp:
        return default_hold
    raise DataError(
        data,
        "no 'hold=N' marker, 'hold' file or images_test/ folder: pass --hold N, or --eval-mode all to train on every "
        "view",
    )


def split_indices(num_images: int, hold: int, split: str) -> np.ndarray:
    """Indices [M] of the split: views 0, hold, 2 hold, ... are held out, the rest train."""
    all_idx = np.arange(num_images)
    held = all_idx % hold == 0
    return all_idx[~held] if split == "train" else all_idx[held]


def llff_to_nerfstudio(poses_bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, 17] -> (c2w [N, 3, 4] OpenGL camera axes, same world frame; hwf [N, 3] at full size)."""
    poses = poses_bounds[:, :15].reshape(-1, 3, 5)
    c2w = np.concatenate([poses[:, :, 1:2], -poses[:, :, 0:1], poses[:, :, 2:4]], axis=2)
    return c2w, poses[:, :, 4]


def load_poses_bounds(path: Path) -> np.ndarray:
    """poses_bounds.npy -> [N, 17] float64 (DataError when missing or malformed)."""
    if not path.is_file():
        raise DataError(path, "no poses_bounds.npy in the Deblur-NeRF folder")
    try:
        arr = np.load(path)
    except Exception as err:  # numpy raises ValueError, OSError, pickle errors
        raise DataError(path, f"cannot be read ({type(err).__name__}: {err})") from None
    if arr.ndim != 2 or arr.shape[1] != 17 or not np.isfinite(arr).all():
        raise DataError(path, f"expected a finite [N, 17] array, got shape {arr.shape}")
    if (arr[:, 4:15:5] <= 0).any():
        raise DataError(path, "image height, width and focal length (columns 4, 9, 14) must be positive")
    return arr.astype(np.float64)


def scaled_folders(data: Path) -> dict[int, Path]:
    """Factor -> image folder present in data: images/ and images_1/ are 1, images_<k>/ is k."""
    folders = {}
    for path in data.iterdir():
        match = _SCALED_FOLDER.fullmatch(path.name)
        if path.is_dir() and (match or path.name == "images") and list_images(path):
            folders.setdefault(int(match.group(1)) if match else 1, path)
    return folders


def resize_cache_folder(data: Path, factor: int) -> Path:
    """Where resized images go: data/images_<factor>/ as LLFF's minify writes it, or a per-scene
    folder under the system temp dir when data is read-only (by its mode bits too: root may write anyway)."""
    if os.access(data, os.W_OK) and data.stat().st_mode & 0o222:
        return data / f"images_{factor}"
    key = hashlib.sha1(str(data.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "ns-plugins-deblur-nerf" / f"{data.name}-{key}" / f"images_{factor}"


def resize_images(sources: List[Path], out: Path, factor: int) -> List[Path]:
    """Each source image downscaled ``factor``x (Lanczos) into out/ as PNG (kept when already there)."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for src in sources:
        dst = out / f"{src.stem}.png"
        with Image.open(src) as img:
            size = (max(1, round(img.width / factor)), max(1, round(img.height / factor)))
            if not (dst.is_file() and image_sizes([dst])[0].tolist() == list(size)):
                img.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(dst)
        files.append(dst)
    return files


def select_images(data: Path, factor: Optional[int]) -> Tuple[List[Path], str]:
    """The photos to load at ``factor`` (None: the finest folder present) -> (files [N], description)."""
    folders = scaled_folders(data)
    if factor is None:
        if not folders:
            raise DataError(data, "no images/ or images_<k>/ folder with images")
        finest = min(folders)
        return list_images(folders[finest]), f"{folders[finest].name}/"
    if factor < 1:
        raise DataError("--downscale-factor", f"must be at least 1, got {factor}")
    if factor in folders:
        return list_images(folders[factor]), f"{folders[factor].name}/"
    sources = [k for k in sorted(folders) if factor % k == 0]
    if not sources:
        present = ", ".join(p.name + "/" for p in folders.values()) or "none"
        raise DataError(
            data / ("images" if factor == 1 else f"images_{factor}"),
            f"folder asked for by --downscale-factor {factor} is absent and there are no full-size images/ to make "
            f"it from (present: {present})",
        )
    source = folders[sources[0]]
    out = resize_cache_folder(data, factor)
    CONSOLE.log(f"deblur-nerf-data: resizing {source.name}/ by {factor // sources[0]}x into {out}")
    return resize_images(list_images(source), out, factor // sources[0]), f"{source.name}/ resized to {out}"


def image_sizes(files: List[Path]) -> np.ndarray:
    """(width, height) [N, 2] of each image (header only)."""
    sizes = []
    for path in files:
        try:
            with Image.open(path) as img:
                sizes.append(img.size)
        except OSError as err:
            raise DataError(path, f"cannot be read as an image ({err})") from None
    return np.array(sizes, dtype=np.float64)


def scaled_intrinsics(hwf: np.ndarray, sizes: np.ndarray, files: List[Path]) -> np.ndarray:
    """Focal length [N] scaled from poses_bounds' full size (hwf [N, 3]) to the loaded sizes [N, 2];
    DataError naming the image whose aspect ratio disagrees with poses_bounds.npy."""
    scale_x, scale_y = sizes[:, 0] / hwf[:, 1], sizes[:, 1] / hwf[:, 0]
    # downscaled sizes are rounded to whole pixels: allow one pixel of disagreement
    bad = np.abs(hwf[:, 0] * scale_x - sizes[:, 1]) > 1.0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            files[i],
            f"is {int(sizes[i, 0])}x{int(sizes[i, 1])} but poses_bounds.npy gives {int(hwf[i, 1])}x{int(hwf[i, 0])} "
            "(width x height): not a scaled copy",
        )
    return hwf[:, 2] * (scale_x + scale_y) / 2


@dataclass
class DeblurNerfDataParserConfig(DataParserConfig):
    """Deblur-NeRF layout: poses_bounds.npy, images/ or images_<k>/, images_test/, hold=N, sparse/0/."""

    _target: Type = field(default_factory=lambda: DeblurNerfDataParser)
    data: Path = Path()
    """The scene folder."""
    downscale_factor: Optional[int] = None
    """Load images_<factor>/ (resized from images/ when missing); unset: the finest image folder present."""
    hold: Optional[int] = None
    """Hold out every hold-th view (0, hold, 2 hold, ...); unset: from the hold=N marker or hold file."""
    eval_mode: Literal["hold", "all"] = "hold"
    """hold: held-out views as above; all: every view trains and is also the eval split (no held-out views)."""
    default_hold: int = 8
    """Hold-out stride when there is images_test/ but no hold marker (Deblur-NeRF uses 8)."""
    load_3D_points: bool = True
    """Seed the Gaussians from the COLMAP model's points3D when colmap_path holds one."""
    colmap_path: Path = Path("sparse/0")
    """COLMAP model folder, relative to data."""
    orientation_method: Literal["pca", "up", "vertical", "none"] = "up"
    """nerfstudio's pose orientation method."""
    center_method: Literal["poses", "focus", "none"] = "poses"
    """nerfstudio's pose centring method."""
    auto_scale_poses: bool = True
    """Scale the poses to fit in [-1, 1]."""
    scene_scale: float = 1.0
    """Scale of the scene box and of the poses after auto-scaling."""


@dataclass
class DeblurNerfDataParser(DataParser):
    """Reads the layout of :class:`DeblurNerfDataParserConfig` (see the module docstring)."""

    config: DeblurNerfDataParserConfig

    def _generate_dataparser_outputs(self, split: str = "train", **_: object) -> DataparserOutputs:
        data = Path(self.config.data)
        if not data.is_dir():
            raise DataError(data, "Deblur-NeRF data folder does not exist")
        poses_path = data / "poses_bounds.npy"
        poses_bounds = load_poses_bounds(poses_path)
        images, source = select_images(data, self.config.downscale_factor)
        if len(images) != len(poses_bounds):
            raise DataError(poses_path, f"{len(poses_bounds)} poses but {len(images)} images in {source}")
        sharp_dir = data / "images_test"
        sharp = list_images(sharp_dir) if sharp_dir.is_dir() else []
        if sharp_dir.is_dir() and len(sharp) != len(images):
            raise DataError(sharp_dir, f"{len(sharp)} sharp images but {len(images)} photos in {source}")
        # shared checks (modes nerfstudio mis-reads, at least 2 views); sizes are taken from each file below
        check_frame_images(images + sharp, [None] * (len(images) + len(sharp)), poses_path)

        if self.config.eval_mode == "all":
            idx = np.arange(len(images))
        else:
            if self.config.hold is not None:
                hold = parse_hold("--hold", str(self.config.hold))
            else:
                hold = read_hold(data, bool(sharp), self.config.default_hold)
            idx = split_indices(len(images), hold, split)
            if len(idx) == 0:
                raise DataError(data, f"no {split} views: {len(images)} photos with hold-out stride {hold}")
        held_out = split != "train" and self.config.eval_mode != "all"
        files = [(sharp[i] if held_out and sharp else images[i]) for i in idx]

        c2w, hwf = llff_to_nerfstudio(poses_bounds)
        sizes = image_sizes(images)  # every photo is checked, whichever split is asked for
        focal = scaled_intrinsics(hwf, sizes, images)[idx]
        sizes = sizes[idx]
        if held_out and sharp:  # images_test/ may differ in size from the photos: scale to each file
            sizes = image_sizes(files)
            focal = scaled_intrinsics(hwf[idx], sizes, files)
        focal = torch.from_numpy(focal).float()
        poses = torch.from_numpy(c2w).float()
        bottom = torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(len(poses), 1, 4)
        poses = torch.cat([poses, bottom], 1)  # nerfstudio's orientation wants [N, 4, 4]
        poses, transform = camera_utils.auto_orient_and_center_poses(
            poses, method=self.config.orientation_method, center_method=self.config.center_method
        )
        scale = 1.0
        if self.config.auto_scale_poses:
            scale = float(1.0 / torch.max(torch.abs(poses[:, :3, 3])).clamp_min(1e-8))
        scale *= self.config.scene_scale
        poses[:, :3, 3] *= scale

        sel = torch.from_numpy(idx)
        width, height = torch.from_numpy(sizes[:, 0]), torch.from_numpy(sizes[:, 1])
        cameras = Cameras(
            camera_to_worlds=poses[sel, :3, :4],
            fx=focal[:, None],
            fy=focal[:, None],
            cx=(width / 2.0).float()[:, None],
            cy=(height / 2.0).float()[:, None],
            width=width.int()[:, None],
            height=height.int()[:, None],
            camera_type=CameraType.PERSPECTIVE,
        )
        metadata = {}
        if self.config.load_3D_points and split == "train":
            metadata = self._seed_points(data, images, c2w, transform, scale)
        aabb = self.config.scene_scale
        return DataparserOutputs(
            image_filenames=files,
            cameras=cameras,
            scene_box=SceneBox(aabb=torch.tensor([[-aabb] * 3, [aabb] * 3], dtype=torch.float32)),
            dataparser_scale=scale,
            dataparser_transform=transform,
            metadata=metadata,
        )

    def _seed_points(
        self, data: Path, images: List[Path], c2w: np.ndarray, transform: torch.Tensor, scale: float
    ) -> dict:
        """COLMAP points in the dataparser's frame: {points3D_xyz [P, 3], points3D_rgb [P, 3] uint8}, or {}."""
        sparse = data / self.config.colmap_path
        points = points_in_pose_frame(sparse, [p.stem for p in images], c2w[:, :3, 3]) if sparse.is_dir() else None
        if points is None:
            CONSOLE.log(f"deblur-nerf-data: no COLMAP points in {sparse}: Gaussians start at random")
            return {}
        xyz, rgb = points
        xyz = torch.from_numpy(xyz).float() @ transform[:3, :3].T + transform[:3, 3]
        return {"points3D_xyz": xyz * scale, "points3D_rgb": torch.from_numpy(rgb)}


deblur_nerf_dataparser = DataParserSpecification(
    config=DeblurNerfDataParserConfig(),
    description=(
        "Deblur-NeRF layout (poses_bounds.npy, images_<k>/, hold=N marker, sparse/0/ seed points, images_test/)"
    ),
)
