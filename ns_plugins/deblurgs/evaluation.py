"""Scores against a synthetic dataset's ground truth (used by the demo, the benchmark and tests).

- ``blurry_input_metrics``: the blurry training photos vs their sharp mid-exposure images.
- ``train_view_metrics``: a trained pipeline's renders of the training views (deblurgs: at the
  estimated mid-exposure pose; any other method: at the dataset pose) vs the sharp images.
- ``laplacian_variance`` and ``no_reference_metrics``: for captures without sharp ground truth,
  the sharpness of the training-view renders against the photos', and the PSNR of the renders
  blurred again along the learned trajectories against the photos (fidelity to the input).
- ``trajectory_rotation_error``: mean angle between the estimated sub-frame poses and the true
  path at the exposure times they stand for (the better of the two time directions: a blur does
  not say which way the camera moved), after removing the reconstruction's global rotation, and raw.
  The blur is the plain mean of N sub-frames, so sorted sub-frame k stands for the k-th N-th of
  the exposure, centred at (k + 0.5) / N, wherever its curve parameter sits: with the curve's ends
  pinned at 0 and 1 a perfect fit puts its end sub-frames at the true poses of times 1/2N and
  1 - 1/2N, not 0 and 1. The error at the curve parameters is reported too (``*_at_curve_times``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
from PIL import Image

from ns_plugins.data import metrics
from ns_plugins.deblurgs.blur import synthesize_blur
from ns_plugins.deblurgs.simulate import path_poses
from ns_plugins.splat.geometry import rotation_angle_deg
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
    return mean_metrics(
        [read_image(Path(data) / f"images/{s}.png") for s in stems],
        [read_image(Path(data) / f"gt/clean/{s}.png") for s in stems],
    )


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
        r = model.render_gaussians(
            viewmats_from_camera_to_worlds(poses[i : i + 1]), Ks, int(cam.width.item()), int(cam.height.item())
        )
        out.append(torch.clamp(r.rgb + (1 - r.alpha) * background, 0, 1)[0].cpu())
    return out


@torch.no_grad()
def render_reblurred_train_views(pipeline) -> List[torch.Tensor]:
    """Renders [H, W, 3] of every training view as the model explains its photo: deblurgs' blur of
    its sub-frames along the learned trajectory (background composited per sub-frame); any other
    method's render at the dataset pose."""
    model = pipeline.model
    if not hasattr(model, "trajectory"):
        return render_train_views(pipeline)
    cameras = pipeline.datamanager.train_dataset.cameras.to(model.device)
    background = model.background_color.to(model.device)
    idx = torch.arange(model.num_train_data, device=model.device)
    poses = model.trajectory.poses(model.train_camera_to_worlds, idx)  # [B, N, 3, 4]
    out = []
    for i in range(len(cameras)):
        cam = cameras[i : i + 1]
        Ks = cam.get_intrinsics_matrices().reshape(1, 3, 3).expand(poses.shape[1], 3, 3)
        r = model.render_gaussians(
            viewmats_from_camera_to_worlds(poses[i]), Ks, int(cam.width.item()), int(cam.height.item())
        )
        subframes = torch.clamp(r.rgb + (1 - r.alpha) * background, 0, 1)
        out.append(synthesize_blur(subframes, model.config.blur_gamma).cpu())
    return out


def laplacian_variance(rgb: torch.Tensor) -> float:
    """Sharpness of an image [H, W, 3] in [0, 1]: variance of the 4-neighbour Laplacian of its
    grey levels in 0..255 (OpenCV's ``Laplacian(ksize=1).var()``), over interior pixels."""
    grey = (rgb[..., :3] @ torch.tensor([0.299, 0.587, 0.114], dtype=rgb.dtype)) * 255.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def no_reference_metrics(pipeline) -> Dict[str, float]:
    """Training views of a capture without sharp ground truth: mean Laplacian variance of the sharp
    renders (deblurgs: mid-exposure) and of the photos, PSNR of the renders and of the re-blurred
    renders against the photos."""
    photos = [read_image(Path(p)) for p in pipeline.datamanager.train_dataparser_outputs.image_filenames]
    sharp, reblurred = render_train_views(pipeline), render_reblurred_train_views(pipeline)
    return {
        "render_laplacian_var": float(np.mean([laplacian_variance(r) for r in sharp])),
        "photo_laplacian_var": float(np.mean([laplacian_variance(p) for p in photos])),
        "render_psnr_vs_photo": mean_metrics(sharp, photos)["psnr"],
        "reblurred_psnr_vs_photo": mean_metrics(reblurred, photos)["psnr"],
    }


def train_view_metrics(pipeline, data: Path) -> Dict[str, float]:
    """Training-view renders vs the sharp ground truth."""
    targets = [read_image(Path(data) / f"gt/clean/{s}.png") for s in train_stems(pipeline)]
    return mean_metrics(render_train_views(pipeline), targets)


def gauge_rotation(est_centers: torch.Tensor, true_centers: torch.Tensor) -> torch.Tensor:
    """Rotation [3, 3] of the similarity that best maps camera centres est [B, 3] onto true [B, 3] (Umeyama).

    A reconstruction is defined up to a similarity (the scene and every camera may move together
    without changing a single render); trajectory errors are measured after removing it, as
    absolute-trajectory-error evaluations do. Only its rotation changes rotation errors.
    """
    est0, true0 = est_centers - est_centers.mean(0), true_centers - true_centers.mean(0)
    u, _, vh = torch.linalg.svd(true0.T @ est0)
    d = torch.ones(3, dtype=est_centers.dtype)
    d[2] = torch.sign(torch.linalg.det(u @ vh))
    return u @ torch.diag(d) @ vh


@torch.no_grad()
def trajectory_rotation_error(pipeline, data: Path) -> Dict[str, float]:
    """Mean rotation errors (degrees) of the estimated sub-frame and mid-exposure poses.

    ``subframe_rotation_error_deg``/``mid_rotation_error_deg`` after removing the reconstruction's
    global similarity (:func:`gauge_rotation`, fitted on the mid-exposure camera centres);
    ``*_raw_deg`` in the dataset's frame as trained.
    """
    model = pipeline.model
    scene = json.loads((Path(data) / "gt/scene.json").read_text())["degradation"]
    outputs = pipeline.datamanager.train_dataparser_outputs
    to_dp = outputs.dataparser_transform[:3, :3].double()
    idx = torch.arange(model.num_train_data, device=model.device)
    times = model.trajectory.timestamps(idx)
    est = model.trajectory.poses(model.train_camera_to_worlds, idx, times)[..., :3, :3].double().cpu()  # [B, N, 3, 3]
    mid_pose = model.sharp_train_poses().double().cpu()  # [B, 3, 4]
    mid = mid_pose[..., :3, :3]
    stems = train_stems(pipeline)
    true_pose = torch.stack(
        [
            outputs.dataparser_transform.double() @ torch.tensor(scene["true_poses"][s], dtype=torch.float64)
            for s in stems
        ]
    )
    true_mid = true_pose[..., :3, :3] / torch.linalg.norm(true_pose[..., :3, 0], dim=-1)[:, None, None]
    gauge = gauge_rotation(mid_pose[..., 3], true_pose[..., 3])
    exposure_times = (np.arange(times.shape[1]) + 0.5) / times.shape[1]
    # true sub-frame rotations [N, 3, 3] per image, in both time directions (a blur does not say
    # which way the camera moved), at the exposure times and at the curve parameters
    truths = {
        name: [
            [
                to_dp
                @ torch.from_numpy(
                    path_poses(np.asarray(scene["true_poses"][stem]), scene["paths"][stem], tt)[:, :3, :3]
                )
                for tt in (t, 1 - t)
            ]
            for stem, t in zip(stems, time_sets)
        ]
        for name, time_sets in (("", [exposure_times] * len(stems)), ("_at_curve_times", list(times.cpu().numpy())))
    }
    result: Dict[str, float] = {}
    for suffix, g in (("_raw_deg", torch.eye(3, dtype=torch.float64)), ("_deg", gauge)):
        for name, per_image in truths.items():
            errors = [
                min(float(rotation_angle_deg(g @ est[i], tr).mean()) for tr in both) for i, both in enumerate(per_image)
            ]
            result[f"subframe_rotation_error{name}{suffix}"] = float(np.mean(errors))
        result[f"mid_rotation_error{suffix}"] = float(rotation_angle_deg(g @ mid, true_mid).mean())
    return result
