"""One tiny rainy synthetic dataset per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from ns_plugins.data.synth_cli import generate_dataset

SIZE = 32


@pytest.fixture(scope="session")
def rainy_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rainy_tiny") / "data"
    return generate_dataset(
        out,
        seed=3,
        num_train=8,
        num_test=2,
        width=SIZE,
        height=SIZE,
        num_seed_points=800,
        degradation="rain",
        degradation_options={"angle_deg": 100.0, "intensity": 0.6},
    )
