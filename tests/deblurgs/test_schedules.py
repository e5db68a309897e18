"""GDA threshold schedule, smoothness weight, warm-up length: values and scaling with the run."""

from __future__ import annotations

import math

import pytest

from ns_plugins.deblurgs.densification import GDAConfig, gda_threshold
from ns_plugins.deblurgs.losses import exponential_weight
from ns_plugins.deblurgs.model import DeblurGSModelConfig


def test_gda_paper_values() -> None:
    cfg = GDAConfig()  # 4e-4 -> 2e-4 over 25k of 150k
    assert gda_threshold(0, 150000, cfg) == pytest.approx(4e-4)
    assert gda_threshold(12500, 150000, cfg) == pytest.approx(math.sqrt(4e-4 * 2e-4))  # log-linear midpoint
    assert gda_threshold(25000, 150000, cfg) == pytest.approx(2e-4)
    assert gda_threshold(100000, 150000, cfg) == pytest.approx(2e-4)


def test_gda_scales_with_run_length() -> None:
    cfg = GDAConfig()
    assert gda_threshold(100, 600, cfg) == pytest.approx(2e-4)  # 600 / 6 = 100: annealing done
    assert gda_threshold(50, 600, cfg) == pytest.approx(gda_threshold(12500, 150000, cfg))
    assert gda_threshold(0, 600, GDAConfig(enabled=False)) == pytest.approx(2e-4)


def test_gda_is_monotone() -> None:
    values = [gda_threshold(s, 1200, GDAConfig()) for s in range(0, 1200, 10)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_smoothness_weight_decays_exponentially() -> None:
    assert exponential_weight(0, 1000, 5e-2, 1e-2) == pytest.approx(5e-2)
    assert exponential_weight(500, 1000, 5e-2, 1e-2) == pytest.approx(math.sqrt(5e-2 * 1e-2))
    assert exponential_weight(1000, 1000, 5e-2, 1e-2) == pytest.approx(1e-2)
    assert exponential_weight(5000, 1000, 5e-2, 1e-2) == pytest.approx(1e-2)


def test_paper_defaults() -> None:
    cfg = DeblurGSModelConfig()
    assert cfg.trajectory.mode == "bezier" and cfg.trajectory.bezier_order == 9 and cfg.trajectory.num_subframes == 21
    assert cfg.blur_gamma == 2.2 and cfg.smooth_weight_start == 5e-2 and cfg.smooth_weight_end == 1e-2
    assert cfg.warmup_fraction * 150000 == pytest.approx(1000)
    assert cfg.background_color == "random"
