"""``deblur-nerf-data`` on the layout the published Deblur-NeRF scenes ship (``hold=7`` marker,
``images_4/`` beside full-size ``images/``, COLMAP ``sparse/0/``), seed points from COLMAP, bad
input, nerfstudio's ``colmap`` parser on the same folder, and the real capture at tiny scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from nerfstudio.data.utils import colmap_parsing_utils as colmap_utils
from PIL import Image

from ns_plugins.data.errors import DataError
from ns_plugins.deblurgs.dataparser import DeblurNerfDataParserConfig
from ns_plugins.splat.geometry import look_at
from tests.cli import run, train_args

FULL_W, FULL_H, FOCAL = 128, 96, 110.0
BLURTEA = Path("/work/shared/data/blurtea")


def look_at_c2w(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """COLMAP/OpenCV camera-to-world [4, 4] (x right, y down, z forward) looking at target."""
    return look_at(eye, target) @ np.diag([1.0, -1.0, -1.0, 1.0])  # nerfstudio's OpenGL axes -> OpenCV's


def write_published_scene(
    root: Path,
    n: int = 15,
    full_images: bool = False,
    colmap_suffix: str = ".jpg",
    pose_shift: np.ndarray = np.zeros(3),
    pose_scale: float = 1.0,
) -> dict:
    """A tiny scene in the published layout; poses_bounds.npy holds the COLMAP poses moved by
    pose_scale * x + pose_shift (a recentred copy). Returns the ground truth the tests check."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    (root / "hold=7").touch()
    colmap_c2w = [
        look_at_c2w(np.array([4 * np.cos(a), 4 * np.sin(a), 1.0]), np.zeros(3)) for a in np.linspace(0, 1.5, n)
    ]
    points = rng.uniform(-1, 1, (60, 3))
    colours = rng.integers(0, 255, (60, 3), dtype=np.uint8)
    poses_bounds = np.zeros((n, 17))
    for i, c2w in enumerate(colmap_c2w):
        right, down, forward = c2w[:3, 0], c2w[:3, 1], c2w[:3, 2]
        llff = np.stack([down, right, -forward, pose_scale * c2w[:3, 3] + pose_shift, [FULL_H, FULL_W, FOCAL]], 1)
        poses_bounds[i, :15] = llff.reshape(-1)
        poses_bounds[i, 15:] = [1.0, 8.0]
    np.save(root / "poses_bounds.npy", poses_bounds)
    stems = [f"frame{i:05d}" for i in range(n)]
    folders = {"images_4": (FULL_W // 4, FULL_H // 4)} | ({"images": (FULL_W, FULL_H)} if full_images else {})
    for folder, (w, h) in folders.items():
        (root / folder).mkdir()
        for stem in stems:
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / folder / f"{stem}.png")
    sparse = root / "sparse" / "0"
    sparse.mkdir(parents=True)
    cameras = {
        1: colmap_utils.Camera(
            id=1, model="SIMPLE_PINHOLE", width=FULL_W, height=FULL_H, params=np.array([FOCAL, FULL_W / 2, FULL_H / 2])
        )
    }
    images = {}
    for i, (stem, c2w) in enumerate(zip(stems, colmap_c2w)):
        w2c = np.linalg.inv(c2w)
        images[i + 1] = colmap_utils.Image(
            id=i + 1,
            qvec=colmap_utils.rotmat2qvec(w2c[:3, :3]),
            tvec=w2c[:3, 3],
            camera_id=1,
            name=stem + colmap_suffix,
            xys=np.zeros((0, 2)),
            point3D_ids=np.zeros(0, dtype=np.int64),
        )
    points3d = {
        j + 1: colmap_utils.Point3D(
            id=j + 1, xyz=points[j], rgb=colours[j], error=0.5, image_ids=np.array([1]), point2D_idxs=np.array([0])
        )
        for j in range(len(points))
    }
    colmap_utils.write_model(cameras, images, points3d, str(sparse), ext=".bin")
    return {"root": root, "colmap_c2w": colmap_c2w, "points": points, "colours": colours, "stems": stems}


def pixels(xyz: torch.Tensor, c2w: torch.Tensor, fx: float, cx: float, cy: float) -> torch.Tensor:
    """Pixel coordinates [P, 2] of points [P, 3] seen by an OpenGL camera c2w [3, 4]."""
    cam = (xyz - c2w[:3, 3]) @ c2w[:3, :3]
    depth = -cam[:, 2]
    return torch.stack([fx * cam[:, 0] / depth + cx, -fx * cam[:, 1] / depth + cy], 1)


@pytest.fixture()
def scene(tmp_path: Path) -> dict:
    return write_published_scene(
        tmp_path / "scene", full_images=True, pose_shift=np.array([0.5, -2.0, 0.3]), pose_scale=0.7
    )


def test_hold_marker_images_4_and_scaled_intrinsics(scene: dict) -> None:
    parser = DeblurNerfDataParserConfig(data=scene["root"], downscale_factor=4).setup()
    train, test = parser.get_dataparser_outputs("train"), parser.get_dataparser_outputs("test")
    assert [p.stem for p in test.image_filenames] == ["frame00000", "frame00007", "frame00014"]
    assert len(train.image_filenames) == 12 and all(p.parent.name == "images_4" for p in train.image_filenames)
    assert int(train.cameras.width[0]) == FULL_W // 4 and int(train.cameras.height[0]) == FULL_H // 4
    assert float(train.cameras.fx[0]) == pytest.approx(FOCAL / 4) and float(train.cameras.cy[0]) == pytest.approx(
        FULL_H / 8
    )


def test_missing_factor_folder_is_resized_from_full_size_images(scene: dict) -> None:
    parser = DeblurNerfDataParserConfig(data=scene["root"], downscale_factor=8).setup()
    train = parser.get_dataparser_outputs("train")
    assert all(p.parent == scene["root"] / "images_8" for p in train.image_filenames)
    with Image.open(train.image_filenames[0]) as img:
        assert img.size == (FULL_W // 8, FULL_H // 8)
    assert float(train.cameras.fx[0]) == pytest.approx(FOCAL / 8)


def test_seed_points_from_colmap_land_where_colmap_sees_them(scene: dict) -> None:
    """poses_bounds.npy is a moved copy of the COLMAP poses: the seeds follow the poses' frame, so each
    point projects to the same pixel through the parser's camera as through COLMAP's."""
    out = DeblurNerfDataParserConfig(data=scene["root"], downscale_factor=4).setup().get_dataparser_outputs("train")
    xyz, rgb = out.metadata["points3D_xyz"], out.metadata["points3D_rgb"]
    assert xyz.shape == (60, 3) and rgb.dtype == torch.uint8 and np.array_equal(rgb.numpy(), scene["colours"])
    for k, path in enumerate(out.image_filenames[:3]):
        c2w_cv = scene["colmap_c2w"][int(path.stem[-5:])]
        cam = (scene["points"] - c2w_cv[:3, 3]) @ c2w_cv[:3, :3]
        expected = FOCAL / 4 * cam[:, :2] / cam[:, 2:] + np.array([FULL_W / 8, FULL_H / 8])
        got = pixels(
            xyz,
            out.cameras.camera_to_worlds[k],
            float(out.cameras.fx[k]),
            float(out.cameras.cx[k]),
            float(out.cameras.cy[k]),
        )
        assert np.abs(got.numpy() - expected).max() < 1e-2


def test_hold_flag_and_eval_mode_all(scene: dict) -> None:
    parser = DeblurNerfDataParserConfig(data=scene["root"], downscale_factor=4, hold=5).setup()
    assert len(parser.get_dataparser_outputs("test").image_filenames) == 3  # 0, 5, 10
    parser = DeblurNerfDataParserConfig(data=scene["root"], downscale_factor=4, eval_mode="all").setup()
    assert len(parser.get_dataparser_outputs("train").image_filenames) == 15


@pytest.mark.parametrize(
    ("damage", "names"),
    [
        ("no_full_size", "images_2"),
        ("count", "poses_bounds.npy"),
        ("hold0", "hold=0"),
        ("points", "points3D.bin"),
        ("aspect", "frame00000.png"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, damage: str, names: str) -> None:
    data = write_published_scene(tmp_path / "scene")["root"]
    factor = 2 if damage == "no_full_size" else 4
    if damage == "count":
        (data / "images_4" / "frame00003.png").unlink()
    elif damage == "hold0":
        (data / "hold=7").rename(data / "hold=0")
    elif damage == "points":
        (data / "sparse/0/points3D.bin").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00garbage")
    elif damage == "aspect":
        Image.new("RGB", (FULL_W // 4, FULL_W // 4)).save(data / "images_4" / "frame00000.png")
    with pytest.raises(DataError) as err:
        DeblurNerfDataParserConfig(data=data, downscale_factor=factor).setup().get_dataparser_outputs("train")
    assert names in err.value.path.split("/")[-1] and "\n" not in str(err.value), str(err.value)


def test_nerfstudio_colmap_parser_trains_deblurgs(tmp_path: Path) -> None:
    """``ns-train deblurgs-small ... colmap --colmap-path sparse/0 --downscale-factor 4`` on the same
    layout, when COLMAP's image names are the files' names (nerfstudio's parser matches them exactly)."""
    data = write_published_scene(tmp_path / "scene", colmap_suffix=".png")["root"]
    run(
        *train_args("deblurgs-small", data, tmp_path / "out", "colmap", 3),
        "colmap",
        "--colmap-path",
        "sparse/0",
        "--downscale-factor",
        4,
        cwd=tmp_path,
    )
    assert list((tmp_path / "out").glob("colmap/*/t/nerfstudio_models/*.ckpt"))


@pytest.mark.skipif(not (BLURTEA / "poses_bounds.npy").is_file(), reason=f"real capture {BLURTEA} not on this machine")
def test_real_capture_reads_at_tiny_scale() -> None:
    """blurtea (38 photos, images_4/ only, read-only): 16x down is resized from images_4/ into a temp folder."""
    parser = DeblurNerfDataParserConfig(data=BLURTEA, downscale_factor=16, eval_mode="all").setup()
    out = parser.get_dataparser_outputs("train")
    assert len(out.image_filenames) == 38 and not (BLURTEA / "images_16").exists()
    assert (int(out.cameras.width[0]), int(out.cameras.height[0])) == (80, 45)
    assert float(out.cameras.fx[0]) == pytest.approx(1099.574 / 16, rel=1e-3)
    xyz = out.metadata["points3D_xyz"]
    assert xyz.shape[0] > 1000
    visible = [
        ((uv[:, 0] >= 0) & (uv[:, 0] < 80) & (uv[:, 1] >= 0) & (uv[:, 1] < 45)).float().mean()
        for uv in (
            pixels(xyz, out.cameras.camera_to_worlds[i], float(out.cameras.fx[i]), 40.0, 22.5) for i in range(0, 38, 6)
        )
    ]
    assert float(torch.stack(visible).mean()) > 0.6  # COLMAP's points seen by the cameras they came from


def test_ns_train_stops_with_one_line_on_a_missing_folder(tmp_path: Path) -> None:
    data = write_published_scene(tmp_path / "scene")["root"]
    proc = run(
        *train_args("deblurgs-small", data, tmp_path / "out", "bad", 3),
        "deblur-nerf-data",
        "--downscale-factor",
        2,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert (
        "images_2: folder asked for by --downscale-factor 2 is absent" in proc.stderr and "Traceback" not in proc.stderr
    )
