"""The ``rain`` degradation and the checks on rainy captures (one-line errors naming the file)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ns_plugins.data.errors import DataError
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.rainyscape.datamanager import (
    IMAGE_SIZE_KEY,
    RainyDatamanagerConfig,
    check_frame_count,
    check_rainy_images,
)
from ns_plugins.rainyscape.evaluation import load_rgb
from ns_plugins.rainyscape.simulate import parse_options


def test_rain_degradation_writes_rainy_train_clean_test_and_ground_truth(rainy_dataset: Path) -> None:
    scene = json.loads((rainy_dataset / "gt/scene.json").read_text())
    info = scene["degradation"]
    assert info["name"] == "rain" and info["angle_deg"] == pytest.approx(100.0)
    assert 0.05 < info["coverage"] < 0.4
    for stem in scene["train_stems"]:
        rainy, clean, rain = (load_rgb(rainy_dataset / f"{d}/{stem}.png") for d in ("images", "gt/clean", "gt/rain"))
        assert (rainy - clean).abs().max() > 0.2  # bright streaks were added ...
        assert float(((rainy - (clean + rain).clamp(0, 1)).abs()).max()) <= 2.5 / 255  # ... additively (8-bit rounding)
        assert abs(info["view_angles_deg"][stem] - 100.0) < 10.0
    for stem in scene["test_stems"]:
        assert np.array_equal(
            np.asarray(Image.open(rainy_dataset / f"images/{stem}.png")),
            np.asarray(Image.open(rainy_dataset / f"gt/clean/{stem}.png")),
        )
        assert not (rainy_dataset / f"gt/rain/{stem}.png").exists()


@pytest.mark.parametrize("blend", ["additive", "screen", "mixed"])
def test_each_blend_mode(blend: str, tmp_path: Path) -> None:
    """Short streaks at a set density, each blend as documented: the rainy image from gt/clean and the streak layer."""
    options = {
        "blend": blend,
        "angle_deg": 60.0,
        "length_px_min": 3,
        "length_px_max": 12,
        "width_max": 2.5,
        "density": 0.2,
        "intensity": 0.4,
        "intensity_max": 0.9,
        "streak_jitter_deg": 10.0,
        "dark_fraction": 0.5,
    }
    data = generate_dataset(
        tmp_path / blend,
        seed=1,
        num_train=3,
        num_test=1,
        width=40,
        height=28,
        num_seed_points=50,
        degradation="rain",
        degradation_options=options,
    )
    info = json.loads((data / "gt/scene.json").read_text())
    stems = info["train_stems"]
    assert 0.12 < info["degradation"]["coverage"] < 0.3  # ~ the density asked for
    assert info["degradation"]["angle_deg"] == pytest.approx(60.0)
    for stem in stems:
        rainy, clean, rain = (load_rgb(data / f"{d}/{stem}.png") for d in ("images", "gt/clean", "gt/rain"))
        dark = data / f"gt/rain_dark/{stem}.png"
        assert dark.is_file() == (blend == "mixed")
        signed = rain - (load_rgb(dark) if dark.is_file() else 0)
        assert float((rainy - (clean + signed)).abs().max()) <= 2.5 / 255  # gt/rain (- gt/rain_dark) is Y - B
        assert float(rain.max()) > 0.2
        if blend == "mixed":
            assert float(load_rgb(dark).max()) > 0.2  # some streaks darken
        bright = rain.mean(-1) > 0.05
        if blend == "screen":  # Y = B + L (1 - B): the added rain is at most 1 - B
            assert bool((rain[bright] <= 1 - clean[bright] + 2.5 / 255).all())
        if blend == "additive":  # Y = clip(B + L): not attenuated by the background, unlike screen
            assert float(rain.max()) > 0.35


def test_bad_rain_options_are_one_line_errors() -> None:
    with pytest.raises(DataError, match="unknown rain option"):
        parse_options({"angel_deg": 3})
    with pytest.raises(DataError, match="non-negative"):
        parse_options({"intensity": -1})
    with pytest.raises(DataError, match="blend must be one of"):
        parse_options({"blend": "overlay"})
    with pytest.raises(DataError, match="density"):
        parse_options({"density": 1.5})


def test_datamanager_passes_size_and_camera_codes(rainy_dataset: Path) -> None:
    dm = RainyDatamanagerConfig(data=rainy_dataset).setup(device="cpu")
    meta = dm.train_dataset.metadata
    assert meta[IMAGE_SIZE_KEY] == (32, 32)
    assert tuple(meta["rainyscape_camera_codes"].shape) == (8, 16)


def test_fewer_than_two_images_is_an_error(tmp_path: Path) -> None:
    data = generate_dataset(tmp_path / "one", seed=0, num_train=1, num_test=0, width=8, height=8, num_seed_points=50)
    with pytest.raises(DataError, match="at least 2 images") as err:
        check_frame_count(data)
    assert str(data / "transforms.json") in str(err.value)
    with pytest.raises(DataError, match="at least 2 training images"):
        check_rainy_images([data / "images/frame_00000.png"], data)


def test_mixed_image_sizes_is_an_error_naming_the_file(rainy_dataset: Path, tmp_path: Path) -> None:
    data = tmp_path / "mixed"
    shutil.copytree(rainy_dataset, data)
    odd = data / "images/frame_00003.png"
    Image.open(odd).resize((40, 30)).save(odd)
    with pytest.raises(DataError) as err:
        RainyDatamanagerConfig(data=data).setup(device="cpu")
    assert str(odd) in str(err.value) and "40x30" in str(err.value) and "one size" in str(err.value)
