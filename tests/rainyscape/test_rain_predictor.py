"""The rain prediction module at odd sizes and with more than 50 views, and its E-step."""

from __future__ import annotations

from dataclasses import replace

import torch

from ns_plugins.rainyscape.rain_predictor import RainPredictor, RainPredictorConfig, camera_code, generator_size

SMALL = RainPredictorConfig(latent_size=16, state_size=8, state_features=16, rain_features=2)


def codes(n: int) -> torch.Tensor:
    c2w = torch.eye(4)[:3].expand(n, 3, 4).clone()
    c2w[:, :, 3] = torch.randn(n, 3)
    ones = torch.ones(n)
    return camera_code(c2w, 40 * ones, 40 * ones, 16.5 * ones, 23.5 * ones, 33 * ones, 47 * ones)


def test_odd_size_and_more_than_50_views() -> None:
    torch.manual_seed(0)
    predictor = RainPredictor(SMALL, num_views=64, image_height=47, image_width=33)
    views = torch.tensor([0, 50, 63])
    rain = predictor(views, codes(3), 47, 33)
    assert rain.shape == (3, 47, 33, 3)
    assert float(rain.detach().min()) >= 0.0
    # other render sizes (the training resolution schedule, a viewer window) are resized, still >= 0
    small, large = predictor(views[:1], codes(1), 24, 17), predictor(views[:1], codes(1), 95, 67)
    assert small.shape == (1, 24, 17, 3) and large.shape == (1, 95, 67, 3)
    assert float(small.detach().min()) >= 0.0 and float(large.detach().min()) >= 0.0


def test_darkening_layer_gives_signed_rain_at_any_size() -> None:
    torch.manual_seed(2)
    predictor = RainPredictor(replace(SMALL, darkening=True), num_views=4, image_height=20, image_width=14)
    assert predictor.generator.body[-2].out_channels == 6  # a brightening and a darkening layer
    for height, width in ((20, 14), (10, 7), (41, 29)):
        rain = predictor(torch.arange(4), codes(4), height, width)
        assert rain.shape == (4, height, width, 3)
        assert float(rain.min()) < 0.0 < float(rain.max())  # it can darken as well as brighten


def test_map_channels_shape_the_first_map_at_odd_sizes() -> None:
    """map_channels 4: the state is mapped to 4 half-resolution channels, as many numbers as the full image."""
    torch.manual_seed(3)
    config = replace(SMALL, map_channels=4)
    predictor = RainPredictor(config, num_views=2, image_height=15, image_width=9)
    assert predictor.generator.to_map.out_features == 4 * 8 * 5  # 4 x ceil(15 / 2) x ceil(9 / 2)
    assert predictor.generator.body[0].in_channels == 4
    rain = predictor(torch.arange(2), codes(2), 15, 9)
    assert rain.shape == (2, 15, 9, 3) and float(rain.detach().min()) >= 0.0


def test_views_get_different_rain_and_gradients_reach_the_networks() -> None:
    torch.manual_seed(1)
    predictor = RainPredictor(SMALL, num_views=3, image_height=16, image_width=16)
    m = codes(1).expand(2, -1)
    rain = predictor(torch.tensor([0, 1]), m, 16, 16)
    assert not torch.allclose(rain[0], rain[1])
    rain.sum().backward()
    assert predictor.generator.to_map.weight.grad is not None and predictor.state_net.camera.weight.grad is not None
    assert predictor.latents.weight.grad is None  # latents move only in the E-step


def test_generator_size_caps_the_long_side() -> None:
    assert generator_size(47, 33, 512) == (47, 33)
    assert generator_size(1080, 1920, 512) == (288, 512)


def test_camera_code_is_resolution_free() -> None:
    c2w = torch.eye(4)[:3][None]
    full = camera_code(
        c2w,
        torch.tensor([100.0]),
        torch.tensor([100.0]),
        torch.tensor([64.0]),
        torch.tensor([48.0]),
        torch.tensor([128]),
        torch.tensor([96]),
    )
    half = camera_code(
        c2w,
        torch.tensor([50.0]),
        torch.tensor([50.0]),
        torch.tensor([32.0]),
        torch.tensor([24.0]),
        torch.tensor([64]),
        torch.tensor([48]),
    )
    assert full.shape == (1, 16) and torch.allclose(full, half)


def test_langevin_moves_only_the_view_latent_and_lowers_the_energy() -> None:
    torch.manual_seed(2)
    predictor = RainPredictor(SMALL, num_views=4, image_height=12, image_width=12)
    target = torch.rand(1, 12, 12, 3)
    m = codes(1)
    view = torch.tensor([2])

    def energy(rain: torch.Tensor) -> torch.Tensor:
        return 1e3 * (rain - target).square().mean()

    before = predictor.latents.weight.detach().clone()
    with torch.no_grad():
        e0 = float(energy(predictor(view, m, 12, 12)))
    for _ in range(5):
        predictor.langevin(view, m, 12, 12, energy, steps=5, delta=0.03)
    after = predictor.latents.weight.detach()
    assert torch.equal(after[[0, 1, 3]], before[[0, 1, 3]])
    assert not torch.equal(after[2], before[2])
    with torch.no_grad():
        assert float(energy(predictor(view, m, 12, 12))) < e0
