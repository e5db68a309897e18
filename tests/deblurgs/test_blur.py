"""Blur synthesis: ONE rasterize call whose tone-mapped mean equals separately rendered sub-frames;
densification statistics over N sub-frames weigh one blurry image as one view."""

from __future__ import annotations

from typing import Literal
from unittest import mock

import pytest
import torch
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.data.scene_box import SceneBox

import ns_plugins.splat.model as base_model
from ns_plugins.deblurgs.blur import synthesize_blur, to_display, to_linear
from ns_plugins.deblurgs.model import DeblurGSModelConfig
from ns_plugins.deblurgs.trajectory import ExposureTrajectoryConfig
from ns_plugins.splat.geometry import look_at
from ns_plugins.splat.model import viewmats_from_camera_to_worlds

SIZE = 24


def make_model(
    num_subframes: int = 5, init_noise: float = 0.0, background: Literal["random", "black", "white"] = "black"
):
    g = torch.Generator().manual_seed(0)
    xyz = (torch.rand(300, 3, generator=g) - 0.5) * 1.2
    rgb = (torch.rand(300, 3, generator=g) * 255).to(torch.uint8)
    config = DeblurGSModelConfig(
        trajectory=ExposureTrajectoryConfig(num_subframes=num_subframes, bezier_order=3, init_noise=init_noise),
        background_color=background,
        run_steps=100,
        sh_degree=0,
        warmup_fraction=0.1,
        num_downscales=0,
    )
    model = config.setup(
        scene_box=SceneBox(torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=2, metadata={}, seed_points=(xyz, rgb)
    )
    model.optimizers = {}
    model.step = 50  # after the warm-up
    model.train()
    return model


def make_camera(index: int = 1) -> Cameras:
    c2w = look_at(torch.tensor([0.3, -2.5, 1.0]), torch.zeros(3))[:3]
    f = SIZE * 0.9
    return Cameras(
        camera_to_worlds=c2w[None],
        fx=f,
        fy=f,
        cx=SIZE / 2,
        cy=SIZE / 2,
        width=SIZE,
        height=SIZE,
        metadata={"cam_idx": index},
    )


def test_tone_mapping_round_trip() -> None:
    x = torch.rand(10, 3)
    assert torch.allclose(to_display(to_linear(x)), x, atol=1e-4)
    same = x[None].expand(4, -1, -1)
    assert torch.allclose(synthesize_blur(same), x, atol=1e-4)


def test_blur_is_mean_of_separately_rendered_subframes_in_one_call() -> None:
    torch.manual_seed(0)
    model = make_model(init_noise=0.0, background="random")
    with torch.no_grad():  # a visible motion
        model.trajectory.control.copy_(torch.randn_like(model.trajectory.control) * 0.03)
    camera = make_camera()
    calls = []
    real = base_model.rasterize
    with mock.patch.object(base_model, "rasterize", side_effect=lambda *a, **k: calls.append(1) or real(*a, **k)):
        outputs = model.get_outputs(camera)
    assert len(calls) == 1, "all sub-frames must come from one rasterize call"
    assert outputs["subframes"].shape == (5, SIZE, SIZE, 3) and outputs["rgb"].shape == (SIZE, SIZE, 3)

    background = outputs["background"]
    poses = model.trajectory.poses(camera.camera_to_worlds, torch.tensor([1]))[0]
    Ks = camera.get_intrinsics_matrices().reshape(1, 3, 3)
    separate = []
    with torch.no_grad():
        for pose in poses:
            r = model.render_gaussians(viewmats_from_camera_to_worlds(pose[None]), Ks, SIZE, SIZE)
            separate.append(torch.clamp(r.rgb + (1 - r.alpha) * background, 0, 1)[0])
    expected = to_display(torch.stack([to_linear(s) for s in separate]).mean(0))
    assert torch.allclose(outputs["rgb"].detach(), expected, atol=1e-4)
    assert (outputs["subframes"][0] - outputs["subframes"][-1]).abs().max() > 0.05, (
        "motion should change the sub-frames"
    )


def test_warmup_renders_one_mid_exposure_subframe() -> None:
    model = make_model()
    model.step = 0
    outputs = model.get_outputs(make_camera())
    assert "subframes" not in outputs and outputs["rgb"].shape == (SIZE, SIZE, 3)
    assert model.info["n_cameras"] == 1


def test_smoothness_loss_is_added() -> None:
    model = make_model(init_noise=1e-2)
    camera = make_camera()
    outputs = model.get_outputs(camera)
    batch = {"image": torch.rand(SIZE, SIZE, 3)}
    losses = model.get_loss_dict(outputs, batch)
    assert "subframe_smoothness" in losses and losses["subframe_smoothness"] > 0


def densification_stats(model, camera: Cameras, target: torch.Tensor):
    outputs = model.get_outputs(camera)
    (outputs["rgb"] - target).abs().mean().backward()
    state = {"grad2d": None, "count": None, "radii": None, "scene_scale": 1.0}
    model.strategy._update_state(model.gauss_params, state, model.info, packed=False)
    return state["grad2d"], state["count"]


@pytest.mark.parametrize("num_subframes", [3, 7])
def test_subframe_statistics_weigh_one_image_as_one_view(num_subframes: int) -> None:
    """Identical sub-frames: the running gradient average equals a single-view render's."""
    target = torch.rand(SIZE, SIZE, 3, generator=torch.Generator().manual_seed(2))
    camera = make_camera()
    single = make_model(num_subframes=num_subframes)
    single.step = 0  # warm-up: one sub-frame
    g1, c1 = densification_stats(single, camera, target)
    multi = make_model(num_subframes=num_subframes)
    gn, cn = densification_stats(multi, camera, target)
    assert multi.info["n_cameras"] == num_subframes
    seen = c1 > 0
    assert torch.equal(cn, c1 * num_subframes)
    assert torch.allclose(gn[seen] / cn[seen], g1[seen] / c1[seen], rtol=1e-3, atol=1e-9)
