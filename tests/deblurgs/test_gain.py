"""A deblurring-gain floor that cannot flake: seeded, in-process, on a tiny scene.

A teacher (random Gaussians) renders blurry photos along a known linear exposure path. Two
students with the teacher's geometry and grey colours learn colours and opacities from those
photos: one with the DeblurGS blur model (5 sub-frames, its trajectory learned from the image
pose), one without (1 sub-frame: plain splatting). Scored on the teacher's sharp image.
"""

from __future__ import annotations

import torch

from ns_plugins.data.metrics import psnr
from ns_plugins.deblurgs.trajectory import ExposureTrajectoryConfig
from tests.deblurgs.test_blur import make_camera, make_model

STEPS = 100


def small_blobs(model):
    """Small opaque Gaussians: a textured image that blur visibly changes."""
    with torch.no_grad():
        model.gauss_params["scales"].fill_(float(torch.log(torch.tensor(0.04))))
        model.gauss_params["opacities"].fill_(2.0)
    return model


def student(num_subframes: int):
    model = small_blobs(make_model(num_subframes=num_subframes, init_noise=5e-3))
    model.config.trajectory = ExposureTrajectoryConfig(mode="linear", num_subframes=num_subframes, init_noise=5e-3)
    torch.manual_seed(1)
    model.trajectory = model.config.trajectory.setup(num_images=2)
    with torch.no_grad():
        model.gauss_params["features_dc"].zero_()
    return model


def blurry_targets(teacher, cameras):
    return [teacher.get_outputs(c)["rgb"].detach() for c in cameras]


def sharp_render(model, camera) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        out = model.get_outputs(camera)["rgb"]
    model.train()
    return out


def fit(model, cameras, targets) -> None:
    params = [model.gauss_params["features_dc"], model.gauss_params["opacities"]]
    optim = torch.optim.Adam([{"params": params, "lr": 0.02}, {"params": [model.trajectory.control], "lr": 5e-3}])
    for step in range(STEPS):
        i = step % len(cameras)
        out = model.get_outputs(cameras[i])
        loss = (out["rgb"] - targets[i]).abs().mean()
        optim.zero_grad()
        loss.backward()
        optim.step()


def test_blur_model_recovers_sharper_images_than_plain_splatting() -> None:
    teacher = small_blobs(make_model(num_subframes=9))
    teacher.config.trajectory = ExposureTrajectoryConfig(mode="linear", num_subframes=9, init_noise=0.0)
    teacher.trajectory = teacher.config.trajectory.setup(num_images=2)
    motion = torch.tensor([0.1, 0.0, 0.0, 0.0, 0.12, 0.03])  # ~7 degrees (~2.5 px) and some translation per exposure
    with torch.no_grad():
        teacher.trajectory.control[:, 0] = -motion / 2
        teacher.trajectory.control[:, 1] = motion / 2
    cameras = [make_camera(0), make_camera(1)]
    targets = blurry_targets(teacher, cameras)
    sharp = sharp_render(teacher, cameras[0])
    assert psnr(targets[0], sharp) < 30  # the photos are visibly blurred

    scores = {}
    for n in (5, 1):
        model = student(n)
        fit(model, cameras, targets)
        scores[n] = float(psnr(sharp_render(model, cameras[0]), sharp))
    assert scores[5] > scores[1] + GAIN_FLOOR_DB, scores


GAIN_FLOOR_DB = 2.0  # measured +2.2 dB at 60 steps, +9.2 dB at 150 steps (seeded: deterministic on one machine)
