"""Composition, loss terms and the rain-angle estimator on hand-built images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ns_plugins.rainyscape.losses import direction_loss, rain_likelihood, total_variation
from ns_plugins.rainyscape.rain_angle import AngleTracker, angle_difference, estimate_rain_angle, scene_angle_from_views
from ns_plugins.rainyscape.simulate import RainOptions, sample_view_rain

SIZE = 48


def smooth_clean(size: int = SIZE) -> torch.Tensor:
    """A smooth colour ramp [H, W, 3] (no edges of its own)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([0.2 + 0.3 * x, 0.3 + 0.2 * y, 0.4 + 0.1 * x * y], -1)


def streaks(angle_deg: float, seed: int = 0, size: int = SIZE) -> torch.Tensor:
    """A synthetic rain layer [H, W, 3] with streaks at angle_deg (no per-view jitter; brightening only)."""
    layer, _ = sample_view_rain(
        np.random.default_rng(seed), size, size, math.radians(angle_deg), RainOptions(jitter_deg=0.0)
    )
    return torch.tensor(layer, dtype=torch.float32)[..., None].repeat(1, 1, 3)


def test_additive_composition_has_zero_residual_loss() -> None:
    clean, rain = smooth_clean(), streaks(100.0)
    rainy = clean + rain
    likelihood, mse = rain_likelihood(rainy, clean, rain, eps2=500.0)
    assert float(mse) == pytest.approx(0.0, abs=1e-10) and float(likelihood) == pytest.approx(0.0, abs=1e-3)
    # a rain layer that misses half the streak energy leaves a residual: both terms grow
    likelihood_half, mse_half = rain_likelihood(rainy, clean, 0.5 * rain, eps2=500.0)
    assert float(mse_half) == pytest.approx(500.0 * float((0.5 * rain).square().mean()), rel=1e-5)
    assert float(likelihood_half) > 0.05


def test_likelihood_is_normalised_by_the_residual_std() -> None:
    clean, rain = smooth_clean(), streaks(80.0)
    e = 0.1 * torch.randn_like(clean, generator=torch.Generator().manual_seed(0))
    likelihood, _ = rain_likelihood(clean + rain + e, clean, rain, eps2=0.0)
    # 0.1 mean(e^2) / std(e)^2 is ~0.1 whatever the noise level
    assert float(likelihood) == pytest.approx(0.1, rel=0.05)


def test_total_variation_of_a_step_edge() -> None:
    image = torch.zeros(4, 5, 3)
    image[:, 3:] = 1.0  # one vertical edge, 4 rows x 3 channels of |dx| = 1
    assert float(total_variation(image)) == pytest.approx(12 / 20)
    assert float(total_variation(torch.full((4, 5, 3), 0.3))) == 0.0


@pytest.mark.parametrize("angle_deg", [30.0, 90.0, 120.0])
def test_direction_loss_prefers_rain_along_the_true_angle(angle_deg: float) -> None:
    clean = smooth_clean()
    aligned, rotated = streaks(angle_deg, seed=1), streaks(angle_deg + 45.0, seed=1)
    theta = math.radians(angle_deg)
    loss_aligned = direction_loss(clean + aligned, clean, aligned, theta)
    loss_rotated = direction_loss(clean + rotated, clean, rotated, theta)
    assert float(loss_aligned) < float(loss_rotated) - 0.01, (float(loss_aligned), float(loss_rotated))
    # rain varies across its streaks, not along them: the rain term alone is negative when aligned
    assert float(direction_loss(clean + aligned, clean, aligned, theta, clean_weight=0.0)) < 0


def test_direction_loss_penalises_rain_left_in_the_clean_image() -> None:
    clean, rain = smooth_clean(), streaks(100.0)
    theta = math.radians(100.0)
    separated = direction_loss(clean + rain, clean, rain, theta)
    rain_in_clean = direction_loss(clean + rain, clean + rain, torch.zeros_like(rain), theta)
    assert float(separated) < float(rain_in_clean)


@pytest.mark.parametrize("angle_deg", [10.0, 45.0, 75.0, 90.0, 105.0, 140.0, 170.0])
def test_angle_estimator_recovers_streak_angle(angle_deg: float) -> None:
    clean = smooth_clean()
    residual = (clean + streaks(angle_deg, seed=int(angle_deg))) - clean
    estimate = estimate_rain_angle(residual)
    assert estimate is not None and 0 <= estimate < math.pi
    assert math.degrees(angle_difference(estimate, math.radians(angle_deg))) < 2.0


def test_angle_estimator_without_rain_gives_none() -> None:
    assert estimate_rain_angle(torch.zeros(SIZE, SIZE, 3)) is None


def test_angle_tracker_averages_undirected_angles() -> None:
    tracker = AngleTracker(momentum=0.5)
    state = tracker.update(torch.zeros(2), math.radians(179.0))
    state = tracker.update(state, math.radians(1.0))  # the same direction as 179 degrees, nearly
    angle = AngleTracker.angle(state)
    assert angle is not None
    assert math.degrees(angle_difference(angle, 0.0)) < 1.0
    assert AngleTracker.angle(torch.zeros(2)) is None


def test_scene_angle_is_the_mode_of_the_views_estimates() -> None:
    """Views whose residual shows the scene's edges (here the horizon: 0 degrees) are outvoted by the rainy ones,
    where the mean of the doubled angles is pulled far off; views without an estimate (NaN) do not vote."""
    rainy = [100.0, 104.0, 98.0, 102.0, 101.0, 99.0]
    edges = [0.0, 2.0, 178.0, 1.0, 179.0]
    views = torch.tensor([math.radians(a) for a in rainy + edges] + [float("nan")] * 3)
    angle = scene_angle_from_views(views)
    assert angle is not None and abs(math.degrees(angle) - 100.7) < 1.0
    doubled = torch.stack([torch.cos(2 * views[:11]), torch.sin(2 * views[:11])]).mean(1)
    mean_angle = math.degrees(0.5 * math.atan2(float(doubled[1]), float(doubled[0]))) % 180
    assert abs(mean_angle - 100.7) > 20  # the running mean's failure this replaces
    assert scene_angle_from_views(torch.full((4,), float("nan"))) is None
