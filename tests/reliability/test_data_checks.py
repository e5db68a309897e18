"""Images that nerfstudio would train on wrongly, or crash on mid-run, stop before training with one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ns_plugins.data.dataparser import (
    PortableNerfstudioDataParserConfig,
    validate_nerfstudio_data,
)
from ns_plugins.data.errors import EXIT_STATUS, DataError
from ns_plugins.data.image_checks import check_frame_images
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.deblurgs.dataparser import DeblurNerfDataParserConfig
from tests.cli import ns
from tests.deblurgs.test_data import write_deblur_nerf


@pytest.fixture()
def scene(tmp_path: Path) -> Path:
    return generate_dataset(tmp_path / "data", seed=0, num_train=4, num_test=2, width=16, height=16, num_seed_points=50)


def frame_path(data: Path, index: int) -> Path:
    meta = json.loads((data / "transforms.json").read_text())
    return data / meta["frames"][index]["file_path"]


def held_out_path(data: Path) -> Path:
    meta = json.loads((data / "transforms.json").read_text())
    return data / (meta.get("test_filenames") or meta["val_filenames"])[0]


def save_16bit_grey(path: Path) -> None:
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I;16")


def test_16bit_grey_png_is_refused_not_wrapped(scene: Path) -> None:
    path = frame_path(scene, 1)
    save_16bit_grey(path)
    with pytest.raises(DataError, match="16-bit grayscale") as err:
        validate_nerfstudio_data(scene)
    assert err.value.path == str(path)


def test_palette_image_is_refused(scene: Path) -> None:
    path = frame_path(scene, 2)
    Image.open(path).convert("P").save(path)
    with pytest.raises(DataError, match="palette") as err:
        validate_nerfstudio_data(scene)
    assert err.value.path == str(path)


@pytest.mark.parametrize("which", ["train", "held-out"])
def test_image_size_against_camera_for_every_split(scene: Path, which: str) -> None:
    path = frame_path(scene, 0) if which == "train" else held_out_path(scene)
    Image.open(path).resize((20, 16)).save(path)
    with pytest.raises(DataError, match=r"20x16 pixels but its camera says 16x16") as err:
        # the parser validates the whole dataset whichever split is asked for: before training starts
        PortableNerfstudioDataParserConfig(data=scene).setup().get_dataparser_outputs("train")
    assert err.value.path == str(path)


def test_single_frame_is_refused(scene: Path) -> None:
    meta = json.loads((scene / "transforms.json").read_text())
    meta["frames"] = meta["frames"][:1]
    for key in ("train_filenames", "val_filenames", "test_filenames"):
        meta.pop(key, None)
    (scene / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="1 image.*need at least 2"):
        validate_nerfstudio_data(scene)


def test_cameras_at_one_position_are_refused(scene: Path) -> None:
    meta = json.loads((scene / "transforms.json").read_text())
    for frame in meta["frames"]:
        frame["transform_matrix"] = meta["frames"][0]["transform_matrix"]
    (scene / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="same position"):
        validate_nerfstudio_data(scene)


def test_deblur_nerf_parser_gets_the_same_checks(tmp_path: Path) -> None:
    data = write_deblur_nerf(tmp_path / "scene")
    path = data / "images_test" / "003.png"
    save_16bit_grey(path)
    with pytest.raises(DataError, match="16-bit grayscale") as err:
        DeblurNerfDataParserConfig(data=data).setup().get_dataparser_outputs("train")
    assert err.value.path == str(path)


def test_check_frame_images_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"frame 0\) does not exist"):
        check_frame_images([tmp_path / "a.png", tmp_path / "b.png"], [None, None], tmp_path / "transforms.json")


def test_ns_train_16bit_is_one_line_and_exit_2(scene: Path, tmp_path: Path) -> None:
    path = frame_path(scene, 1)
    save_16bit_grey(path)
    proc = subprocess.run(
        [
            ns("ns-train"),
            "splatfacto-portable",
            "--data",
            str(scene),
            "--vis",
            "tensorboard",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == EXIT_STATUS
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {path}: 16-bit grayscale image")


def test_missing_data_path_stops_before_the_config_dump(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    proc = subprocess.run(
        [
            ns("ns-train"),
            "splatfacto-portable",
            "--data",
            str(missing),
            "--vis",
            "tensorboard",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == EXIT_STATUS
    assert proc.stderr.strip().splitlines()[-1] == f"error: {missing}: data path (--data) does not exist"
    assert "TrainerConfig" not in proc.stdout  # nerfstudio's config dump never printed
