"""Scores against a synthetic dataset's ground truth (used by the demo, the benchmark and tests).

- ``blurry_input_metrics``: the blurry training photos vs their sharp mid-exposure images.
- ``train_view_metrics``: a trained pipeline's renders of the training views (deblurgs: at the
  estimated mid-exposure pose; any other method: at the dataset pose) vs the sharp images.
- ``trajectory_rotation_error``: mean angle between the estimated sub-frame poses and the true
  path at the same exposure times (the better of the two time directions: a blur does not say
  which way the camera moved).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
from PIL import Image

from ns_plugins.data import metrics
from ns_plugins.deblurgs.simulate import path_poses
from ns_plugins.deblurgs.trajectory import rotation_angle_deg
from ns_plugins.splat.model import viewmats_from_camera_to_worlds


def read_image(path: Path) -> torch.Tensor:
    """PNG -> float [H, W, 3] in [0, 1]."""
    with Image.open(path) as img:
        return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0)


def mean_metrics(preds: List[torch.Tensor], targets: List[torch.Tensor]) -> Dict[str, float]:
    """Mean PSNR/SSIM over image pairs [H, W, 3]."""
    return {
        "psnr": float(np.mean([float(metrics.psnr(p, t)) for p, t in zip(preds, targets)])),
        "ssim": float(np.mean([float(metrics.ssim(p, t)) for p, t in zip(preds, targets)])),
    }


def train_stems(pipeline) -> List[str]:
    """Stems of the pipeline's training images, in camera order."""
    return [Path(p).stem for p in pipeline.datamanager.train_dataparser_outputs.image_filenames]


def blurry_input_metrics(data: Path) -> Dict[str, float]:
    """Blurry training images vs sharp ground truth (gt/clean)."""
    scene = json.loads((Path(data) / "gt/scene.json").read_text())
    stems = scene["train_stems"]
    return mean_metrics([read_image(Path(data) / f"images/{s}.png") for s in stems], [read_image(Path(data) / f"gt/clean/{s}.png") for s in stems])


@torch.no_grad()
def render_train_views(pipeline) -> List[torch.Tensor]:
    """Renders [H, W, 3] of every training view: mid-exposure for deblurgs, dataset pose otherwise."""
    model = pipeline.model
    cameras = pipeline.datamanager.train_dataset.cameras.to(model.device)
    poses = model.sharp_train_poses() if hasattr(model, "sharp_train_poses") else cameras.camera_to_worlds
    background = model.background_color.to(model.device)
    out = []
    for i in range(len(cameras)):
        cam = cameras[i : i + 1]
        Ks = cam.get_intrinsics_matrices().reshape(1, 3, 3)
        r = model.render_gaussians(viewmats_from_camera_to_worlds(poses[i : i + 1]), Ks, int(cam.width.item()), int(cam.height.item()))
        out.append(torch.clamp(r.rgb + (1 - r.alpha) * background, 0, 1)[0].cpu())
    return out


def train_view_metrics(pipeline, data: Path) -> Dict[str, float]:
    """Training-view renders vs the sharp ground truth."""
    targets = [read_image(Path(data) / f"gt/clean/{s}.png") for s in train_stems(pipeline)]
    return mean_metrics(render_train_views(pipeline), targets)


@torch.no_grad()
def trajectory_rotation_error(pipeline, data: Path) -> Dict[str, float]:
    """Mean rotation error (degrees) of the estimated sub-frame poses, and of the mid-exposure poses."""
    model = pipeline.model
    scene = json.loads((Path(data) / "gt/scene.json").read_text())["degradation"]
    outputs = pipeline.datamanager.train_dataparser_outputs
    to_dp = outputs.dataparser_transform[:3, :3].double()
    idx = torch.arange(model.num_train_data, device=model.device)
    times = model.trajectory.timestamps(idx)
    est = model.trajectory.poses(model.train_camera_to_worlds, idx, times)[..., :3, :3].double().cpu()  # [B, N, 3, 3]
    mid = model.sharp_train_poses()[..., :3, :3].double().cpu()
    errors, mid_errors = [], []
    for i, stem in enumerate(train_stems(pipeline)):
        true_mid = np.asarray(scene["true_poses"][stem])
        t = times[i].cpu().numpy()
        forward, backward = (to_dp @ torch.from_numpy(path_poses(true_mid, scene["paths"][stem], tt)[:, :3, :3]) for tt in (t, 1 - t))
        errors.append(min(float(rotation_angle_deg(est[i], forward).mean()), float(rotation_angle_deg(est[i], backward).mean())))
        mid_errors.append(float(rotation_angle_deg(mid[i], to_dp @ torch.from_numpy(true_mid[:3, :3]))))
    return {"subframe_rotation_error_deg": float(np.mean(errors)), "mid_rotation_error_deg": float(np.mean(mid_errors))}
