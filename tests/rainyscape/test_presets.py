"""The settings both registered presets change from the authors' (ns_plugins/rainyscape/config.py)."""

from __future__ import annotations

import pytest

from ns_plugins.rainyscape.config import rainyscape, rainyscape_small


@pytest.mark.parametrize("spec", [rainyscape, rainyscape_small], ids=["rainyscape", "rainyscape-small"])
def test_presets_train_over_a_per_pixel_background_with_the_rain_layer_bounded(spec) -> None:
    model = spec.config.pipeline.model
    assert model.background_color == "random" and model.background_noise
    assert model.rain_bound_fraction == 0.1 and model.normalise_gaussian_loss and model.clean_l1_weight == 0.5
