"""The trajectory error scores each sub-frame at the share of the exposure it stands for."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import torch

from ns_plugins.deblurgs.evaluation import trajectory_rotation_error
from ns_plugins.deblurgs.trajectory import ExposureTrajectoryConfig
from tests.deblurgs.test_trajectory import random_c2w

STEMS = ["a", "b", "c", "d"]  # >= 3 camera centres off one line: the similarity is defined


def fake_pipeline(trajectory, c2w: torch.Tensor) -> SimpleNamespace:
    """What trajectory_rotation_error reads of a trained deblurgs pipeline."""
    idx = torch.arange(len(STEMS))
    model = SimpleNamespace(
        trajectory=trajectory,
        num_train_data=len(STEMS),
        device="cpu",
        train_camera_to_worlds=c2w,
        sharp_train_poses=lambda: trajectory.mid_poses(c2w, idx),
    )
    outputs = SimpleNamespace(
        image_filenames=[Path(f"images/{s}.png") for s in STEMS], dataparser_transform=torch.eye(4)[:3]
    )
    return SimpleNamespace(model=model, datamanager=SimpleNamespace(train_dataparser_outputs=outputs))


def write_ground_truth(root: Path, c2w: torch.Tensor, velocities: torch.Tensor) -> None:
    bottom = torch.tensor([[0.0, 0, 0, 1]], dtype=torch.float64)
    degradation = {
        "true_poses": {s: torch.cat([c2w[i], bottom]).tolist() for i, s in enumerate(STEMS)},
        "paths": {s: {"velocity": velocities[i].tolist(), "curvature": [0.0] * 6} for i, s in enumerate(STEMS)},
    }
    (root / "gt").mkdir()
    (root / "gt/scene.json").write_text(json.dumps({"degradation": degradation}))


def test_a_perfect_equal_weight_fit_scores_zero(tmp_path: Path) -> None:
    # true paths: rotation at constant speed, 8 degrees over the exposure
    axes = torch.nn.functional.normalize(
        torch.randn(len(STEMS), 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64), dim=-1
    )
    velocities = torch.cat([torch.zeros_like(axes), 0.14 * axes], -1)
    c2w = random_c2w(len(STEMS)).double()
    write_ground_truth(tmp_path, c2w, velocities)
    # 5 equal-weight sub-frames at curve parameters 0..1 that sit at the true poses of times
    # (k + 0.5) / 5: the curve spans 0.8 of the path
    config = ExposureTrajectoryConfig(
        mode="bezier", bezier_order=1, num_subframes=5, init_noise=0.0, learn_timestamps=False
    )
    trajectory = config.setup(num_images=len(STEMS)).double()
    with torch.no_grad():
        trajectory.control[:, 0] = -0.4 * velocities
        trajectory.control[:, 1] = 0.4 * velocities
    errors = trajectory_rotation_error(fake_pipeline(trajectory, c2w), tmp_path)
    assert errors["subframe_rotation_error_deg"] < 1e-5 and errors["mid_rotation_error_deg"] < 1e-5
    # at the curve parameters 0, 1/4, ..., 1 the sub-frames are 0.1, 0.05, 0, 0.05, 0.1 of the exposure off
    assert abs(errors["subframe_rotation_error_at_curve_times_deg"] - 0.06 * math.degrees(0.14)) < 1e-3


def test_laplacian_variance_falls_with_blur() -> None:
    """The no-reference sharpness measure: a box-blurred copy of a textured image scores lower, a flat image zero."""
    from ns_plugins.deblurgs.evaluation import laplacian_variance

    sharp = torch.rand(40, 50, 3, generator=torch.Generator().manual_seed(0))
    blurred = torch.nn.functional.avg_pool2d(sharp.permute(2, 0, 1)[None], 5, 1, 2, count_include_pad=False)[0].permute(
        1, 2, 0
    )
    assert laplacian_variance(torch.full((8, 8, 3), 0.5)) == 0.0
    assert laplacian_variance(blurred) < 0.2 * laplacian_variance(sharp)
