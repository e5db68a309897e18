"""Shared fixtures: one tiny synthetic dataset with inconsistent masks per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from ns_plugins.data.synth_cli import generate_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cgc_tiny") / "data"
    return generate_dataset(
        out, seed=2, num_train=8, num_test=2, width=32, height=32, num_seed_points=600, degradation="inconsistent-masks"
    )
