"""portable-nerfstudio-data: same outputs as nerfstudio's parser, plyfile seed points, clear errors."""

import json
import shutil
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import torch
from nerfstudio.data.dataparsers.nerfstudio_dataparser import NerfstudioDataParserConfig
from plyfile import PlyData, PlyElement

from ns_plugins.data.dataparser import (
    PortableNerfstudioDataParser,
    PortableNerfstudioDataParserConfig,
    portable_nerfstudio_dataparser,
)
from ns_plugins.data.errors import DataError
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.data.writer import write_points_ply

NUM_POINTS = 500


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return generate_dataset(
        tmp_path_factory.mktemp("p") / "ds",
        seed=3,
        num_train=5,
        num_test=2,
        width=24,
        height=20,
        num_seed_points=NUM_POINTS,
    )


@pytest.fixture
def dataset(source, tmp_path):
    """A private copy each test may break."""
    return Path(shutil.copytree(source, tmp_path / "ds"))


def _outputs(config_cls, data, split="train", **kw):
    return config_cls(data=data, **kw).setup().get_dataparser_outputs(split)


@pytest.mark.parametrize("config_cls", [NerfstudioDataParserConfig, PortableNerfstudioDataParserConfig])
def test_split_counts_and_intrinsics(source, config_cls):
    meta = json.loads((source / "transforms.json").read_text())
    train = _outputs(config_cls, source, "train")
    assert len(train.image_filenames) == 5
    assert len(_outputs(config_cls, source, "val").image_filenames) == 2
    test = _outputs(config_cls, source, "test")
    assert [p.name for p in test.image_filenames] == [Path(f).name for f in meta["test_filenames"]]
    cams = train.cameras
    assert torch.allclose(cams.fx, torch.tensor(meta["fl_x"], dtype=torch.float32))
    assert torch.allclose(cams.cy, torch.tensor(meta["cy"], dtype=torch.float32))
    assert int(cams.width[0]) == 24 and int(cams.height[0]) == 20


def test_same_cameras_as_stock_parser(source):
    ours = _outputs(PortableNerfstudioDataParserConfig, source)
    stock = _outputs(NerfstudioDataParserConfig, source)
    assert ours.image_filenames == stock.image_filenames
    assert torch.allclose(ours.cameras.camera_to_worlds, stock.cameras.camera_to_worlds)
    assert "points3D_xyz" not in stock.metadata  # stock default: no seed points


def test_seed_points_loaded_and_transformed(source):
    out = _outputs(PortableNerfstudioDataParserConfig, source)
    xyz, rgb = out.metadata["points3D_xyz"], out.metadata["points3D_rgb"]
    assert xyz.shape == (NUM_POINTS, 3) and rgb.shape == (NUM_POINTS, 3) and rgb.dtype == torch.uint8
    v = PlyData.read(str(source / "points.ply"))["vertex"]
    raw = torch.tensor(np.stack([v[k] for k in "xyz"], axis=1), dtype=torch.float32)
    expected = (torch.cat([raw, torch.ones(NUM_POINTS, 1)], 1) @ out.dataparser_transform.T) * out.dataparser_scale
    assert torch.allclose(xyz, expected, atol=1e-5)
    assert torch.equal(rgb[:, 0], torch.from_numpy(np.asarray(v["red"])))
    # the points transform like the cameras: a camera's centre stays the same distance from them
    meta = json.loads((source / "transforms.json").read_text())
    first = [f for f in meta["frames"] if f["file_path"] == meta["train_filenames"][0]][0]
    eye_raw = torch.tensor(first["transform_matrix"], dtype=torch.float32)[:3, 3]
    eye = out.cameras.camera_to_worlds[0, :3, 3]
    assert torch.allclose(
        (xyz - eye).norm(dim=1), (raw - eye_raw).norm(dim=1) * out.dataparser_scale, rtol=1e-4, atol=1e-5
    )


def test_ply_without_colours_is_grey_and_empty_ply_gives_no_points(dataset):
    vertex = np.zeros(3, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    PlyData([PlyElement.describe(vertex, "vertex")]).write(str(dataset / "points.ply"))
    out = _outputs(PortableNerfstudioDataParserConfig, dataset)
    assert torch.equal(out.metadata["points3D_rgb"], torch.full((3, 3), 128, dtype=torch.uint8))
    write_points_ply(dataset / "points.ply", np.zeros((0, 3)), np.zeros((0, 3)))
    assert "points3D_xyz" not in _outputs(PortableNerfstudioDataParserConfig, dataset).metadata


def test_float_colours_are_scaled(dataset):
    vertex = np.zeros(2, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "f4"), ("green", "f4"), ("blue", "f4")])
    vertex["red"] = [1.0, 0.5]
    PlyData([PlyElement.describe(vertex, "vertex")]).write(str(dataset / "points.ply"))
    rgb = _outputs(PortableNerfstudioDataParserConfig, dataset).metadata["points3D_rgb"]
    assert rgb[:, 0].tolist() == [255, 128]


def _break(dataset: Path, what: str) -> str:
    """Damage the dataset; return the file name the error must mention."""
    transforms = dataset / "transforms.json"
    meta = json.loads(transforms.read_text())
    if what == "no_folder":
        shutil.rmtree(dataset)
        return dataset.name
    if what == "no_transforms":
        transforms.unlink()
        return "transforms.json"
    if what == "bad_json":
        transforms.write_text('{"frames": [')
        return "transforms.json"
    if what == "no_frames":
        transforms.write_text(json.dumps({**meta, "frames": []}))
        return "transforms.json"
    if what == "missing_image":
        (dataset / "images/frame_00004.png").unlink()
        return "frame_00004.png"
    if what == "corrupt_image":
        (dataset / "images/frame_00003.png").write_bytes(b"not a png at all")
        return "frame_00003.png"
    if what == "truncated_first_image":
        path = dataset / "images/frame_00000.png"
        path.write_bytes(path.read_bytes()[:80])
        return "frame_00000.png"
    if what == "missing_ply":
        (dataset / "points.ply").unlink()
        return "points.ply"
    if what == "corrupt_ply":
        (dataset / "points.ply").write_bytes(b"ply\nformat nonsense\n")
        return "points.ply"
    if what == "unknown_split_file":
        transforms.write_text(json.dumps({**meta, "train_filenames": meta["train_filenames"] + ["images/nope.png"]}))
        return "transforms.json"
    if what == "no_pose":
        del meta["frames"][2]["transform_matrix"]
        transforms.write_text(json.dumps(meta))
        return "transforms.json"
    raise ValueError(what)


@pytest.mark.parametrize(
    "what",
    [
        "no_folder",
        "no_transforms",
        "bad_json",
        "no_frames",
        "missing_image",
        "corrupt_image",
        "truncated_first_image",
        "missing_ply",
        "corrupt_ply",
        "unknown_split_file",
        "no_pose",
    ],
)
def test_bad_input_raises_data_error_naming_the_file(dataset, what):
    name = _break(dataset, what)
    with pytest.raises(DataError) as info:
        _outputs(PortableNerfstudioDataParserConfig, dataset)
    message = str(info.value)
    assert name in message and "\n" not in message
    assert isinstance(info.value, ValueError)  # library callers catch it; entry points turn it into exit 2


def test_missing_ply_ignored_when_points_not_loaded(dataset):
    (dataset / "points.ply").unlink()
    out = _outputs(PortableNerfstudioDataParserConfig, dataset, load_3D_points=False)
    assert "points3D_xyz" not in out.metadata


def test_specification():
    assert isinstance(portable_nerfstudio_dataparser.config, PortableNerfstudioDataParserConfig)
    assert portable_nerfstudio_dataparser.config.load_3D_points is True
    assert portable_nerfstudio_dataparser.config._target is PortableNerfstudioDataParser
    names = {ep.name: ep.value for ep in entry_points(group="nerfstudio.dataparser_configs")}
    if "portable-nerfstudio-data" not in names:
        pytest.skip("ns-plugins is not pip-installed in this environment")
    assert names["portable-nerfstudio-data"] == "ns_plugins.data.dataparser:portable_nerfstudio_dataparser"
