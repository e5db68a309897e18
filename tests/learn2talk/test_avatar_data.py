"""The avatar's synthetic capture, its triangle rasterizer, and the learn2talk-data parser (with its errors)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ns_plugins.data.cameras import PinholeCamera
from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.avatar.dataparser import (
    CAPTURE_LINEAR_KEY,
    FACES_KEY,
    FRAMES_KEY,
    TEMPLATE_KEY,
    VERTICES_KEY,
    AvatarDataParserConfig,
)
from ns_plugins.learn2talk.synth.avatar_capture import generate_avatar_dataset, render_head
from ns_plugins.splat.geometry import look_at


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("avatar_data") / "data"
    return generate_avatar_dataset(
        out,
        num_train_frames=3,
        num_test_frames=2,
        num_cameras=2,
        width=24,
        height=24,
        mesh_resolution=12,
        supersample=2,
    )


def parse(data: Path, split: str = "train"):
    return AvatarDataParserConfig(data=data).setup().get_dataparser_outputs(split)


def test_rasterizer_covers_a_square_exactly() -> None:
    """A camera-facing square (two triangles) covers exactly the pixels whose centres it contains."""
    camera = PinholeCamera(
        look_at(np.array([0.0, 0.0, 2.0]), np.zeros(3), up=np.array([0.0, 1.0, 0.0])), 10.0, 10.0, 8.0, 8.0, 16, 16
    )
    verts = torch.tensor([[-0.6, -0.6, 0.0], [0.6, -0.6, 0.0], [0.6, 0.6, 0.0], [-0.6, 0.6, 0.0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    rgba = render_head(verts, faces, torch.tensor([[1.0, 0.0, 0.0]]).expand(4, 3), camera, supersample=1)
    covered = rgba[..., 3] > 0
    # the square spans +-0.6 * 10 / 2 = +-3 pixels around the centre 8: centres 5.5 .. 10.5
    expected = np.zeros((16, 16), dtype=bool)
    expected[5:11, 5:11] = True
    assert np.array_equal(covered, expected)
    assert np.allclose(rgba[covered][:, 1:3], 0.0) and (rgba[covered][:, 0] > 0.3).all()  # red, lit


def test_capture_layout_and_held_out_expressions(capture: Path) -> None:
    meta = json.loads((capture / "transforms.json").read_text())
    gt = json.loads((capture / "gt" / "avatar.json").read_text())
    assert len(meta["frames"]) == 10 and len(meta["train_filenames"]) == 6 and len(meta["test_filenames"]) == 4
    coeffs = np.array(gt["coefficients"])
    assert coeffs.shape == (5, 6)
    assert np.abs(coeffs[3:, None] - coeffs[None, :3]).sum(-1).min() > 1e-3  # held-out expressions are new
    from PIL import Image

    with Image.open(capture / meta["frames"][0]["file_path"]) as img:
        rgba = np.asarray(img)
    assert rgba.shape == (24, 24, 4) and rgba[0, 0, 3] == 0 and rgba[12, 12, 3] == 255  # head in the middle only


def test_parser_puts_each_images_vertices_on_its_camera(capture: Path) -> None:
    gt = json.loads((capture / "gt" / "avatar.json").read_text())
    instant = {r["image"]: r["instant"] for r in gt["images"]}
    template = np.load(capture / "template.npy")
    for split in ("train", "test"):
        outputs = parse(capture, split)
        verts = outputs.cameras.metadata[VERTICES_KEY]
        assert verts.shape == (len(outputs.image_filenames), template.size)
        for i, name in enumerate(outputs.image_filenames):
            expected = np.load(capture / "vertices" / f"frame_{instant[Path(name).stem]:05d}.npy")
            assert np.allclose(verts[i].numpy().reshape(-1, 3), expected)
        # nerfstudio slices camera metadata with the cameras: one image's vertices
        assert outputs.cameras[1:2].metadata[VERTICES_KEY].shape == (1, template.size)
        # one mesh per instant (the viewer's "training frame"), in order of first appearance
        instants = list(dict.fromkeys(instant[Path(name).stem] for name in outputs.image_filenames))
        expected = np.stack([np.load(capture / "vertices" / f"frame_{i:05d}.npy") for i in instants])
        assert np.allclose(outputs.metadata[FRAMES_KEY].numpy(), expected)
    assert np.allclose(outputs.metadata[TEMPLATE_KEY].numpy(), template)
    assert torch.allclose(outputs.metadata[CAPTURE_LINEAR_KEY], torch.eye(3))
    assert outputs.metadata[FACES_KEY].dtype == torch.long


def test_scaled_capture_scales_frames_and_offsets(capture: Path) -> None:
    outputs = AvatarDataParserConfig(data=capture, scale_factor=2.0).setup().get_dataparser_outputs("train")
    assert torch.allclose(outputs.metadata[CAPTURE_LINEAR_KEY], 2.0 * torch.eye(3))
    assert np.allclose(outputs.metadata[FRAMES_KEY][0].numpy(), 2.0 * np.load(capture / "vertices" / "frame_00000.npy"))


def _copy(capture: Path, tmp_path: Path) -> Path:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(capture, data)
    return data


def test_vertex_count_mismatch_names_the_file(capture: Path, tmp_path: Path) -> None:
    data = _copy(capture, tmp_path)
    bad = data / "vertices" / "frame_00001.npy"
    np.save(bad, np.load(bad)[:-5])
    with pytest.raises(DataError) as err:
        parse(data)
    assert err.value.path == str(bad) and "but the template has" in str(err.value)


def test_missing_or_unreadable_mesh_files_are_one_line_errors(capture: Path, tmp_path: Path) -> None:
    data = _copy(capture, tmp_path)
    (data / "vertices" / "frame_00002.npy").unlink()
    with pytest.raises(DataError, match="frame_00002.npy: vertices of frame .* does not exist"):
        parse(data)
    data = _copy(capture, tmp_path / "b")
    (data / "faces.npy").write_text("not an array")
    with pytest.raises(DataError, match="faces.npy: mesh faces .* cannot be read"):
        parse(data)
    data = _copy(capture, tmp_path / "c")
    meta = json.loads((data / "transforms.json").read_text())
    del meta["frames"][3]["vertices_path"]
    (data / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="transforms.json: frame 3 .* has no 'vertices_path'"):
        parse(data)


def test_head_offsets_move_each_instants_mesh(tmp_path: Path) -> None:
    from ns_plugins.learn2talk.synth.avatar_capture import talking_coefficients
    from ns_plugins.learn2talk.synth.head_mesh import deform, make_head_mesh

    offsets = [[0.0, 0.0, 0.0], [0.3, -0.1, 0.0]]
    data = generate_avatar_dataset(
        tmp_path / "data",
        num_train_frames=1,
        num_test_frames=1,
        num_cameras=1,
        width=16,
        height=16,
        mesh_resolution=12,
        supersample=1,
        head_offsets=offsets,
    )
    mesh = make_head_mesh(12)
    talking = deform(mesh, talking_coefficients(mesh, 1, 1000))[0].numpy()  # the held-out instant (seed + 1000)
    assert np.allclose(np.load(data / "vertices" / "frame_00001.npy"), talking + np.array(offsets[1]), atol=1e-6)
    with pytest.raises(ValueError, match=r"head_offsets must be \[2, 3\]"):
        generate_avatar_dataset(
            tmp_path / "other",
            num_train_frames=1,
            num_test_frames=1,
            num_cameras=1,
            width=16,
            height=16,
            mesh_resolution=12,
            supersample=1,
            head_offsets=offsets[:1],
        )


def test_animation_vertex_sequence_is_checked(tmp_path: Path) -> None:
    from ns_plugins.learn2talk.avatar.motion import load_vertex_sequence

    verts = np.zeros((4, 10, 3), np.float32)
    np.save(tmp_path / "ok.npy", verts)
    assert load_vertex_sequence(tmp_path / "ok.npy", 10).shape == (4, 10, 3)
    with pytest.raises(DataError, match=r"ok.npy: has 10 vertices per frame but the avatar's template has 11"):
        load_vertex_sequence(tmp_path / "ok.npy", 11)
    verts[2, 3, 0] = np.nan
    np.save(tmp_path / "nan.npy", verts)
    with pytest.raises(DataError, match=r"nan.npy: the vertices hold NaN or infinite values"):
        load_vertex_sequence(tmp_path / "nan.npy", 10)
