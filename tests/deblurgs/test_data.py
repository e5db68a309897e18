"""Deblur-NeRF parser and the motion-blur degradation, including their bad-input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ns_plugins.data.errors import DataError
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.deblurgs.dataparser import DeblurNerfDataParserConfig
from ns_plugins.deblurgs.simulate import parse_options, path_poses


def write_deblur_nerf(
    root: Path, n: int = 6, n_images: int | None = None, hold: int | None = 3, sharp: bool = True
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    poses = np.zeros((n, 17))
    for i in range(n):
        angle = 2 * np.pi * i / n
        rot = np.array([[0, 1, 0], [1, 0, 0], [0, 0, -1]], dtype=float)  # LLFF down/right/back
        pose = np.concatenate(
            [rot, np.array([[np.cos(angle)], [np.sin(angle)], [3.0]]), np.array([[16], [20], [18.0]])], 1
        )
        poses[i, :15] = pose.reshape(-1)
        poses[i, 15:] = [1.0, 10.0]
    np.save(root / "poses_bounds.npy", poses)
    for folder in ["images"] + (["images_test"] if sharp else []):
        (root / folder).mkdir(exist_ok=True)
        for i in range(n if n_images is None else n_images):
            Image.fromarray(rng.integers(0, 255, (16, 20, 3), dtype=np.uint8)).save(root / folder / f"{i:03d}.png")
    if hold is not None:
        (root / "hold").write_text(f"{hold}\n")
    return root


def test_deblur_nerf_layout_splits_and_sharp_targets(tmp_path: Path) -> None:
    data = write_deblur_nerf(tmp_path / "scene")
    parser = DeblurNerfDataParserConfig(data=data).setup()
    train = parser.get_dataparser_outputs("train")
    test = parser.get_dataparser_outputs("test")
    assert [p.name for p in test.image_filenames] == ["000.png", "003.png"]
    assert all(p.parent.name == "images_test" for p in test.image_filenames)
    assert len(train.image_filenames) == 4 and all(p.parent.name == "images" for p in train.image_filenames)
    assert train.cameras.width[0].item() == 20 and train.cameras.fx[0].item() == pytest.approx(18.0)


def test_mismatched_image_count_is_an_error(tmp_path: Path) -> None:
    data = write_deblur_nerf(tmp_path / "scene", n=6, n_images=5)
    with pytest.raises(DataError, match="6 poses but 5 images"):
        DeblurNerfDataParserConfig(data=data).setup().get_dataparser_outputs("train")


def test_missing_hold_and_images_test_is_an_error(tmp_path: Path) -> None:
    data = write_deblur_nerf(tmp_path / "scene", hold=None, sharp=False)
    with pytest.raises(DataError, match="no 'hold=N' marker, 'hold' file or images_test"):
        DeblurNerfDataParserConfig(data=data).setup().get_dataparser_outputs("train")


def test_missing_poses_is_an_error(tmp_path: Path) -> None:
    data = write_deblur_nerf(tmp_path / "scene")
    (data / "poses_bounds.npy").unlink()
    with pytest.raises(DataError, match="poses_bounds.npy"):
        DeblurNerfDataParserConfig(data=data).setup().get_dataparser_outputs("train")


def test_blur_preset_with_zero_subframes_is_an_error() -> None:
    with pytest.raises(DataError, match="num_subframes must be at least 1"):
        parse_options({"num_subframes": 0})
    with pytest.raises(DataError, match="unknown motion-blur option"):
        parse_options({"sub_frames": 3})


def test_path_is_centred_on_the_frame_pose() -> None:
    path = {"velocity": [0.1, 0, 0, 0, 0.05, 0], "curvature": [0, 0.02, 0, 0.01, 0, 0]}
    mid = np.eye(4)
    poses = path_poses(mid, path, np.array([0.0, 0.5, 1.0]))
    assert np.allclose(poses[1], mid)
    assert not np.allclose(poses[0], poses[2])


def test_motion_blur_degradation_writes_blurry_training_views(tmp_path: Path) -> None:
    out = generate_dataset(
        tmp_path / "blur",
        seed=1,
        num_train=3,
        num_test=1,
        width=24,
        height=24,
        num_seed_points=200,
        degradation="motion-blur",
        degradation_options={"num_subframes": 4, "rotation_deg": 6.0, "pose_noise_deg": 2.0},
    )
    scene = json.loads((out / "gt/scene.json").read_text())
    paths = scene["degradation"]["paths"]
    assert sorted(paths) == scene["train_stems"]
    stem = scene["train_stems"][0]
    blurry = np.asarray(Image.open(out / f"images/{stem}.png"), dtype=float)
    sharp = np.asarray(Image.open(out / f"gt/clean/{stem}.png"), dtype=float)
    assert np.abs(blurry - sharp).mean() > 1.0
    test_stem = scene["test_stems"][0]
    assert np.array_equal(
        np.asarray(Image.open(out / f"images/{test_stem}.png")),
        np.asarray(Image.open(out / f"gt/clean/{test_stem}.png")),
    )
    frames = {Path(f["file_path"]).stem: f for f in json.loads((out / "transforms.json").read_text())["frames"]}
    noisy = np.asarray(frames[stem]["transform_matrix"])
    true = np.asarray(scene["degradation"]["true_poses"][stem])
    angle = np.degrees(np.arccos(np.clip((np.trace(noisy[:3, :3].T @ true[:3, :3]) - 1) / 2, -1, 1)))
    assert angle == pytest.approx(2.0, abs=1e-3)


def test_sharp_fraction_leaves_that_share_of_training_views_sharp(tmp_path: Path) -> None:
    out = generate_dataset(
        tmp_path / "blur",
        seed=2,
        num_train=4,
        num_test=1,
        width=16,
        height=16,
        num_seed_points=100,
        degradation="motion-blur",
        degradation_options={"num_subframes": 3, "rotation_deg": 8.0, "sharp_fraction": 0.5},
    )
    scene = json.loads((out / "gt/scene.json").read_text())
    same = [
        np.array_equal(
            np.asarray(Image.open(out / f"images/{s}.png")), np.asarray(Image.open(out / f"gt/clean/{s}.png"))
        )
        for s in scene["train_stems"]
    ]
    assert sum(same) == 2
    assert sum(not any(scene["degradation"]["paths"][s]["velocity"]) for s in scene["train_stems"]) == 2
    with pytest.raises(DataError, match="sharp_fraction"):
        parse_options({"sharp_fraction": 1.5})
