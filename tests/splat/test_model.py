"""The base model's hooks and its CPU/offline behaviour, without a full pipeline."""

from __future__ import annotations

import math

import pytest
import torch
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.scene_box import SceneBox

from ns_plugins.splat.geometry import look_at
from ns_plugins.splat.growth_budget import screen_size_thresholds
from ns_plugins.splat.model import PortableSplatModelConfig, viewmats_from_camera_to_worlds


def look_at_c2w(eye: torch.Tensor) -> torch.Tensor:
    """nerfstudio c2w [3, 4] looking from ``eye`` at the origin (z up)."""
    return look_at(eye, torch.zeros(3))[:3]


def make_camera(eye: tuple, size: int = 32) -> Cameras:
    f = 0.5 * size / math.tan(math.radians(25))
    return Cameras(
        camera_to_worlds=look_at_c2w(torch.tensor(eye))[None],
        fx=f,
        fy=f,
        cx=size / 2,
        cy=size / 2,
        width=size,
        height=size,
        camera_type=CameraType.PERSPECTIVE,
    )


@pytest.fixture
def model():
    torch.manual_seed(0)
    n = 300
    xyz = torch.randn(n, 3) * 0.3
    rgb = torch.randint(0, 256, (n, 3), dtype=torch.uint8)
    config = PortableSplatModelConfig(rasterizer_backend="torch")
    m = config.setup(
        scene_box=SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=4, seed_points=(xyz, rgb)
    )
    m.step = 10_000  # all SH degrees active
    m.eval()
    return m


def test_seed_colours_set_without_cuda(model) -> None:
    rgb = model.seed_points[1].float() / 255
    from nerfstudio.models.splatfacto import SH2RGB

    torch.testing.assert_close(SH2RGB(model.features_dc), rgb)
    assert model.means.device.type == "cpu"


def test_lpips_reported_unavailable_without_cached_weights(model, tmp_path, monkeypatch) -> None:
    from ns_plugins.splat.lpips import LazyLPIPS

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    lpips = LazyLPIPS()
    assert not lpips.available and "not in the torch hub cache" in lpips.reason
    assert math.isnan(float(lpips(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))))
    assert not any(k.startswith("lpips") for k in model.state_dict())


def test_lpips_patch_holds_while_models_are_built_in_two_threads() -> None:
    import threading
    import time

    import torchmetrics.image.lpip as lpip_module

    from ns_plugins.splat.model import _lpips_built_lazily

    original = lpip_module.LearnedPerceptualImagePatchSimilarity
    patched_inside = []

    def build() -> None:
        with _lpips_built_lazily():
            time.sleep(0.05)  # the other thread tries to start and end its own patch meanwhile
            patched_inside.append(lpip_module.LearnedPerceptualImagePatchSimilarity is not original)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert patched_inside == [True, True]
    assert lpip_module.LearnedPerceptualImagePatchSimilarity is original


def test_viewmats_match_nerfstudio() -> None:
    c2w = torch.stack([look_at_c2w(torch.tensor(e)) for e in ([2.0, 0.5, 1.0], [-1.0, 2.0, 0.3])])
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0]))
    full = torch.cat([c2w, torch.tensor([[[0.0, 0, 0, 1]]]).expand(2, 1, 4)], 1)
    expected = torch.linalg.inv(full @ flip)  # OpenGL -> OpenCV camera axes, then invert
    torch.testing.assert_close(viewmats_from_camera_to_worlds(c2w), expected)


def test_several_cameras_render_in_one_call_like_separate_calls(model) -> None:
    eyes = [(2.0, 0.0, 1.0), (0.0, 2.0, 1.0), (-1.5, -1.5, 0.8)]
    cams = [make_camera(e) for e in eyes]
    viewmats = viewmats_from_camera_to_worlds(torch.cat([c.camera_to_worlds for c in cams]))
    Ks = torch.cat([c.get_intrinsics_matrices() for c in cams])
    with torch.no_grad():
        batch = model.render_gaussians(viewmats, Ks, 32, 32)
        for i in range(3):
            single = model.render_gaussians(viewmats[i : i + 1], Ks[i : i + 1], 32, 32)
            torch.testing.assert_close(batch.rgb[i], single.rgb[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(batch.alpha[i], single.alpha[0], atol=1e-5, rtol=1e-5)
    assert batch.info["n_cameras"] == 3 and batch.info["radii"].shape == (3, model.num_points)


def test_extra_channels_render_in_the_same_pass(model) -> None:
    cam = make_camera((2.0, 0.5, 1.0))
    viewmats = viewmats_from_camera_to_worlds(cam.camera_to_worlds)
    Ks = cam.get_intrinsics_matrices()
    feats = torch.rand(model.num_points, 5)
    feats[:, 0] = 1.0  # a constant channel blends to the accumulated alpha
    with torch.no_grad():
        plain = model.render_gaussians(viewmats, Ks, 32, 32, with_depth=True)
        extra = model.render_gaussians(viewmats, Ks, 32, 32, extra_features=feats, with_depth=True)
    assert extra.extra.shape == (1, 32, 32, 5)
    torch.testing.assert_close(extra.rgb, plain.rgb, atol=1e-5, rtol=1e-4)  # SH evaluated outside = inside
    torch.testing.assert_close(extra.depth, plain.depth, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(extra.extra[..., 0:1], extra.alpha, atol=1e-5, rtol=1e-5)


def test_get_outputs_for_camera_gives_viewer_outputs(model) -> None:
    out = model.get_outputs_for_camera(make_camera((2.0, 0.5, 1.0)))
    assert out["rgb"].shape == (32, 32, 3) and out["depth"].shape == (32, 32, 1)
    assert out["accumulation"].shape == (32, 32, 1)
    assert 0.0 <= float(out["rgb"].min()) and float(out["rgb"].max()) <= 1.0


def test_training_step_populates_densification_gradients(model) -> None:
    model.train()
    model.step = 0
    model.optimizers = {}
    out = model.get_outputs(make_camera((2.0, 0.5, 1.0)))
    out["rgb"].mean().backward()
    means2d = model.info["means2d"]
    assert means2d.grad is not None and means2d.grad.abs().sum() > 0
    assert means2d.absgrad.shape == means2d.shape
    assert model.means.grad.abs().sum() > 0


def test_screen_size_split_keeps_splatfacto_fractions_on_large_images() -> None:
    assert screen_size_thresholds(0.05, 0.15, 1000, 4.0, 12.0) == (0.05, 0.15)
    assert screen_size_thresholds(0.05, 0.15, 250, 4.0, 12.0) == (0.05, 0.15)


def test_screen_size_split_has_a_pixel_floor_on_tiny_renders() -> None:
    # at 16 px, 5% is 0.8 px: every Gaussian would split at every refinement
    grow, prune = screen_size_thresholds(0.05, 0.15, 16, 4.0, 12.0)
    assert grow * 16 == pytest.approx(4.0) and prune * 16 == pytest.approx(12.0)


def test_screen_size_thresholds_follow_the_training_render_size(model) -> None:
    """The strategy floors its screen-size thresholds at the last training render's size (gsplat's meta
    brings it); the strategy's settings keep the configured fractions."""
    model.train()
    model.step = 0  # quarter resolution: an 8 px render of the 32 px camera
    model.optimizers = {}
    model.get_outputs(make_camera((2.0, 0.5, 1.0)))["rgb"].mean().backward()
    model.strategy.step_post_backward(model.gauss_params, {}, model.strategy_state, 1, model.info)
    size = model.strategy_state["render_size_px"]
    assert size < 32
    grow, prune = model.strategy.scale2d_thresholds(model.strategy_state)
    assert grow * size == pytest.approx(model.config.min_split_radius_px)
    assert prune * size == pytest.approx(model.config.min_cull_radius_px)
    assert model.strategy.grow_scale2d == model.config.split_screen_size
    assert model.strategy.prune_scale2d == model.config.cull_screen_size


def test_background_noise_gives_each_pixel_its_own_colour_in_training_only() -> None:
    torch.manual_seed(0)
    xyz, rgb = torch.randn(50, 3) * 0.05, torch.randint(0, 256, (50, 3), dtype=torch.uint8)
    config = PortableSplatModelConfig(rasterizer_backend="torch", background_noise=True)
    m = config.setup(
        scene_box=SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=4, seed_points=(xyz, rgb)
    )
    # a camera beside the Gaussians, looking away from them: every pixel is background
    camera = Cameras(
        camera_to_worlds=look_at(torch.tensor([3.0, 0.0, 0.0]), torch.tensor([6.0, 0.0, 0.0]))[:3][None],
        fx=20.0,
        fy=20.0,
        cx=8.0,
        cy=8.0,
        width=16,
        height=16,
        camera_type=CameraType.PERSPECTIVE,
    )
    m.train()
    m.step, m.optimizers = 0, {}
    train_rgb = m.get_outputs(camera)["rgb"].detach().reshape(-1, 3)
    assert float(train_rgb.std(0).min()) > 0.1  # pixels differ (one random colour per image would give 0)
    m.eval()
    eval_rgb = m.get_outputs_for_camera(camera)["rgb"].reshape(-1, 3)
    assert torch.allclose(eval_rgb, m.background_color.expand_as(eval_rgb), atol=1e-6)  # splatfacto's fixed colour


def test_background_noise_needs_a_random_background() -> None:
    from ns_plugins.data.errors import DataError

    config = PortableSplatModelConfig(rasterizer_backend="torch", background_noise=True, background_color="white")
    with pytest.raises(DataError, match="background-noise"):
        config.setup(scene_box=SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=4)
