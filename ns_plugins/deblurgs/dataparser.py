"""``deblur-nerf-data``: the Deblur-NeRF dataset layout (as BAD-Gaussians' parser reads it).

    scene/
      poses_bounds.npy   [N, 17] LLFF: 3x5 pose (rotation columns down/right/back, translation, h/w/f) + near/far
      images/            the N (blurry) training photos, sorted by name ("images_1/" also accepted)
      images_test/       optional: sharp ground truth, one per photo in the same order
      hold               optional: one integer H; views 0, H, 2H, ... are held out

Held-out views are every H-th (H from ``hold``, else ``default_hold`` when ``images_test/``
exists); they are evaluated against their ``images_test/`` image when there is one. A folder
with neither ``hold`` nor ``images_test/``, or with counts that disagree, stops with one line
naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Literal, Type

import numpy as np
import torch
from nerfstudio.cameras import camera_utils
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.dataparsers.base_dataparser import DataParser, DataParserConfig, DataparserOutputs
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.plugins.registry_dataparser import DataParserSpecification

from ns_plugins.data.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"}


def list_images(folder: Path) -> List[Path]:
    """Image files of folder, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix in IMAGE_SUFFIXES)


def read_hold(data: Path, has_sharp: bool, default_hold: int) -> int:
    """Hold-out stride from ``data/hold`` (or default_hold when images_test/ exists)."""
    path = data / "hold"
    if path.is_file():
        try:
            hold = int(path.read_text().strip())
        except ValueError:
            raise DataError(path, "expected one integer (every hold-th view is held out)") from None
        if hold < 1:
            raise DataError(path, f"hold must be at least 1, got {hold}")
        return hold
    if has_sharp:
        return default_hold
    raise DataError(data, "no 'hold' file and no images_test/ folder: cannot tell which views are held out")


def llff_to_nerfstudio(poses_bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, 17] -> (c2w [N, 3, 4] OpenGL convention, hwf [N, 3])."""
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
    return arr.astype(np.float64)


@dataclass
class DeblurNerfDataParserConfig(DataParserConfig):
    """Deblur-NeRF layout: poses_bounds.npy, images/ (blurry), images_test/ (sharp), hold."""

    _target: Type = field(default_factory=lambda: DeblurNerfDataParser)
    data: Path = Path()
    default_hold: int = 8
    """Hold-out stride when there is images_test/ but no hold file (Deblur-NeRF uses 8)."""
    orientation_method: Literal["pca", "up", "vertical", "none"] = "up"
    center_method: Literal["poses", "focus", "none"] = "poses"
    auto_scale_poses: bool = True
    scene_scale: float = 1.0


@dataclass
class DeblurNerfDataParser(DataParser):
    config: DeblurNerfDataParserConfig

    def _generate_dataparser_outputs(self, split: str = "train", **_: object) -> DataparserOutputs:
        data = Path(self.config.data)
        if not data.is_dir():
            raise DataError(data, "Deblur-NeRF data folder does not exist")
        poses_path = data / "poses_bounds.npy"
        poses_bounds = load_poses_bounds(poses_path)
        image_dir = next((data / d for d in ("images", "images_1") if (data / d).is_dir()), None)
        if image_dir is None:
            raise DataError(data, "no images/ folder")
        images = list_images(image_dir)
        if len(images) != len(poses_bounds):
            raise DataError(poses_path, f"{len(poses_bounds)} poses but {len(images)} images in {image_dir.name}/")
        sharp_dir = data / "images_test"
        sharp = list_images(sharp_dir) if sharp_dir.is_dir() else []
        if sharp_dir.is_dir() and len(sharp) != len(images):
            raise DataError(sharp_dir, f"{len(sharp)} sharp images but {len(images)} photos in {image_dir.name}/")
        hold = read_hold(data, bool(sharp), self.config.default_hold)

        all_idx = np.arange(len(images))
        test_idx = all_idx[all_idx % hold == 0] if hold > 1 or len(images) == 1 else all_idx
        train_idx = np.setdiff1d(all_idx, test_idx) if len(test_idx) < len(images) else all_idx
        idx = train_idx if split == "train" else test_idx
        files = [(sharp[i] if (split != "train" and sharp) else images[i]) for i in idx]

        c2w, hwf = llff_to_nerfstudio(poses_bounds)
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

        from PIL import Image

        with Image.open(files[0]) as img:
            width, height = img.size
        f = torch.from_numpy(hwf[idx, 2] * width / hwf[idx, 1]).float()
        cameras = Cameras(
            camera_to_worlds=poses[idx],
            fx=f[:, None], fy=f[:, None],
            cx=torch.full((len(idx), 1), width / 2.0), cy=torch.full((len(idx), 1), height / 2.0),
            width=torch.full((len(idx), 1), width, dtype=torch.int32), height=torch.full((len(idx), 1), height, dtype=torch.int32),
            camera_type=CameraType.PERSPECTIVE,
        )
        aabb = self.config.scene_scale
        return DataparserOutputs(
            image_filenames=files,
            cameras=cameras,
            scene_box=SceneBox(aabb=torch.tensor([[-aabb] * 3, [aabb] * 3], dtype=torch.float32)),
            dataparser_scale=scale,
            dataparser_transform=transform,
            metadata={},
        )


deblur_nerf_dataparser = DataParserSpecification(
    config=DeblurNerfDataParserConfig(),
    description="Deblur-NeRF layout (poses_bounds.npy, blurry images/, sharp images_test/, hold file)",
)
