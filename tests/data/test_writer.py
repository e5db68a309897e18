"""Dataset writer: layout, file formats, determinism, geometry of the written cameras."""

import json
from typing import Any, Dict

import numpy as np
import pytest
from PIL import Image
from plyfile import PlyData

from ns_plugins.data import writer
from ns_plugins.data.synth_cli import generate_dataset

KW: Dict[str, Any] = dict(num_train=6, num_test=2, width=48, height=40, num_seed_points=1500)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("w") / "ds", seed=7, **KW)


def test_layout(dataset):
    meta = json.loads((dataset / "transforms.json").read_text())
    assert meta["camera_model"] == "OPENCV"
    assert (meta["w"], meta["h"]) == (48, 40)
    assert all(meta[k] == 0.0 for k in ("k1", "k2", "p1", "p2"))
    assert len(meta["frames"]) == 8
    assert meta["frames"][0]["file_path"] == "images/frame_00000.png"
    assert len(meta["train_filenames"]) == 6 and len(meta["test_filenames"]) == 2
    assert meta["val_filenames"] == meta["test_filenames"]
    assert not set(meta["train_filenames"]) & set(meta["test_filenames"])
    assert meta["ply_file_path"] == "points.ply"
    for frame in meta["frames"]:
        stem = frame["file_path"].split("/")[-1][:-4]
        assert np.asarray(frame["transform_matrix"]).shape == (4, 4)
        with Image.open(dataset / frame["file_path"]) as img:
            assert img.size == (48, 40) and img.mode == "RGB"
        for rel in (f"gt/clean/{stem}.png", f"gt/depth/{stem}.npy", f"gt/instance/{stem}.png"):
            assert (dataset / rel).is_file(), rel
    scene = json.loads((dataset / "gt/scene.json").read_text())
    assert scene["seed"] == 7 and scene["generator"] == "ns-plugins-synth"
    assert [i["id"] for i in scene["instances"]][:2] == [0, 1]
    assert scene["degradation"]["name"] == "none"


def test_clean_copies_equal_images_without_degradation(dataset):
    for path in sorted((dataset / "images").glob("*.png")):
        a = np.asarray(Image.open(path))
        b = np.asarray(Image.open(dataset / "gt/clean" / path.name))
        np.testing.assert_array_equal(a, b)


def test_points_ply(dataset):
    ply = PlyData.read(str(dataset / "points.ply"))
    assert not ply.text
    v = ply["vertex"]
    assert len(v) == 1500
    assert {p.name for p in v.properties} == {"x", "y", "z", "red", "green", "blue"}
    assert np.asarray(v["red"]).dtype == np.uint8
    assert np.load(dataset / "gt/points_instance.npy").shape == (1500,)


def test_instance_png_is_16_bit_roundtrip(tmp_path):
    ids = np.array([[0, 1, 2], [300, 65535, 7]])
    writer.write_uint16_png(tmp_path / "i.png", ids)
    np.testing.assert_array_equal(writer.read_uint16_png(tmp_path / "i.png"), ids)
    with pytest.raises(ValueError):
        writer.write_uint16_png(tmp_path / "bad.png", np.array([[70000]]))


def test_seed_points_project_onto_rendered_depth(dataset):
    """Project seed points with the written intrinsics and poses: visible ones sit on the rendered depth."""
    meta = json.loads((dataset / "transforms.json").read_text())
    ply = PlyData.read(str(dataset / "points.ply"))["vertex"]
    xyz = np.stack([ply[k] for k in "xyz"], axis=1).astype(np.float64)
    point_ids = np.load(dataset / "gt/points_instance.npy")
    K = np.array([[meta["fl_x"], 0, meta["cx"]], [0, meta["fl_y"], meta["cy"]], [0, 0, 1]])
    agree = in_front = total = 0
    for frame in meta["frames"]:
        c2w = np.asarray(frame["transform_matrix"])
        stem = frame["file_path"].split("/")[-1][:-4]
        depth = np.load(dataset / "gt/depth" / f"{stem}.npy")
        ids = writer.read_uint16_png(dataset / "gt/instance" / f"{stem}.png")
        cam = (xyz - c2w[:3, 3]) @ c2w[:3, :3]  # world -> OpenGL camera
        z = -cam[:, 2]
        opencv = cam * np.array([1, -1, -1])  # OpenGL -> OpenCV axes
        pix = opencv @ K.T
        u, v = pix[:, 0] / pix[:, 2], pix[:, 1] / pix[:, 2]
        # sky-dome points (id 0) stand for a colour at infinity, not a rendered surface
        ok = (z > 0) & (u >= 0) & (u < meta["w"]) & (v >= 0) & (v < meta["h"]) & (point_ids > 0)
        rows, cols = v[ok].astype(int), u[ok].astype(int)
        diff = z[ok] - depth[rows, cols]
        same_surface = ids[rows, cols] == point_ids[ok]
        agree += int((np.abs(diff) < 0.04).sum())
        # well in front (more than a pixel's depth span at grazing angles) of the rendered surface of
        # its own object: a geometry mismatch. Silhouette pixels, whose centre sees what lies behind
        # the point, are excluded by the id check.
        in_front += int(((diff < -0.1) & same_surface).sum())
        total += int(ok.sum())
    assert total > 1000
    assert agree / total > 0.4
    assert in_front / total < 0.005


def test_deterministic_per_seed(tmp_path, dataset):
    again = generate_dataset(tmp_path / "again", seed=7, **KW)
    other = generate_dataset(tmp_path / "other", seed=8, **KW)
    for rel in ("transforms.json", "points.ply", "images/frame_00003.png", "gt/depth/frame_00003.npy"):
        assert (again / rel).read_bytes() == (dataset / rel).read_bytes(), rel
    assert (other / "images/frame_00003.png").read_bytes() != (dataset / "images/frame_00003.png").read_bytes()
    assert (other / "points.ply").read_bytes() != (dataset / "points.ply").read_bytes()


def test_merge_frame_keys():
    meta = {"frames": [{"file_path": "images/a.png"}, {"file_path": "images/b.png"}], "x": 1}
    merged = writer.merge_frame_keys(meta, {"b": {"mask_path": "masks/b.png"}})
    assert merged["frames"][1]["mask_path"] == "masks/b.png"
    assert "mask_path" not in merged["frames"][0] and "mask_path" not in meta["frames"][1]
