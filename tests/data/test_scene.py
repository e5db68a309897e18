"""Procedural scene, ray-caster and camera sampling."""

import time

import numpy as np
import pytest

from ns_plugins.data.cameras import interleaved_split, look_at, orbit_poses, pinhole_intrinsics
from ns_plugins.data.scene import (
    BACKGROUND_ID,
    FIRST_OBJECT_ID,
    GROUND_ID,
    Ground,
    Lighting,
    Primitive,
    Scene,
    Sky,
    Texture,
    make_scene,
    render_view,
    sample_sky_points,
    sample_surface_points,
)

W = H = 48


def _view(scene, seed=0, width=W, height=H):
    pose = orbit_poses(1, np.asarray(scene.center), 3.0 * scene.radius, np.random.default_rng(seed))[0]
    return pose, pinhole_intrinsics(width, height)


def _unproject(c2w, fx, fy, cx, cy, depth):
    """Pixel centres with z-depth [H, W] -> world points [H, W, 3] (OpenGL camera)."""
    v, u = np.mgrid[: depth.shape[0], : depth.shape[1]] + 0.5
    d = np.where(np.isfinite(depth), depth, 0.0)
    cam = np.stack([(u - cx) / fx * d, -(v - cy) / fy * d, -d], axis=-1)
    return cam @ c2w[:3, :3].T + c2w[:3, 3]


def test_make_scene_is_deterministic_and_seed_dependent():
    assert make_scene(3) == make_scene(3)
    assert make_scene(3) != make_scene(4)
    scene = make_scene(5, num_objects=6)
    assert [o.instance_id for o in scene.objects] == list(range(FIRST_OBJECT_ID, FIRST_OBJECT_ID + 6))
    assert len({o.texture.kind for o in scene.objects}) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_objects_do_not_intersect_and_stand_on_ground(seed):
    scene = make_scene(seed, num_objects=6)
    for i, a in enumerate(scene.objects):
        assert a.center[2] - a.size[2] == pytest.approx(0.0, abs=1e-9)
        for b in scene.objects[i + 1 :]:
            ra = np.hypot(a.size[0], a.size[1]) if a.kind == "box" else a.size[0]
            rb = np.hypot(b.size[0], b.size[1]) if b.kind == "box" else b.size[0]
            assert np.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1]) > ra + rb


def test_render_outputs_and_determinism():
    scene = make_scene(0)
    c2w, (fx, fy, cx, cy) = _view(scene)
    out = render_view(scene, c2w, fx, fy, cx, cy, W, H)
    assert out["rgb"].shape == (H, W, 3) and out["rgb"].dtype == np.float32
    assert out["depth"].shape == (H, W) and out["depth"].dtype == np.float32
    assert out["instance"].shape == (H, W) and out["instance"].dtype == np.int32
    assert 0.0 <= out["rgb"].min() and out["rgb"].max() <= 1.0
    ids = set(np.unique(out["instance"]))
    assert GROUND_ID in ids and len(ids & {o.instance_id for o in scene.objects}) >= 2
    assert np.array_equal(np.isinf(out["depth"]), out["instance"] == BACKGROUND_ID)
    again = render_view(scene, c2w, fx, fy, cx, cy, W, H)
    assert all(np.array_equal(out[k], again[k]) for k in out)
    other = render_view(make_scene(1), c2w, fx, fy, cx, cy, W, H)
    assert np.abs(other["rgb"] - out["rgb"]).mean() > 0.02


def test_textures_have_high_frequency_detail():
    """Blurring must change the image measurably: neighbouring pixels differ on objects."""
    scene = make_scene(0)
    c2w, intr = _view(scene, width=64, height=64)
    out = render_view(scene, c2w, *intr, 64, 64)
    on_objects = out["instance"][:, 1:] >= FIRST_OBJECT_ID
    grad = np.abs(np.diff(out["rgb"], axis=1)).mean(-1)
    assert grad[on_objects].mean() > 0.05


def test_depth_matches_geometry():
    """Unprojected pixel-centre depths land on the surfaces the instance map names."""
    sphere = Primitive(
        "ball",
        "sphere",
        (0.1, -0.05, 0.3),
        (0.3, 0.3, 0.3),
        0.0,
        Texture("checker", (0.8, 0.2, 0.2), (0.1, 0.1, 0.1), 6.0),
        FIRST_OBJECT_ID,
    )
    scene = Scene(
        seed=0,
        objects=(sphere,),
        ground=Ground(2.0, Texture("checker", (0.5, 0.5, 0.5), (0.2, 0.2, 0.2), 3.0)),
        lighting=Lighting((0.3, 0.2, 0.93), 0.9, 0.3),
        sky=Sky((0.8, 0.8, 0.8), (0.3, 0.4, 0.8)),
        center=(0.0, 0.0, 0.3),
        radius=0.6,
    )
    c2w = look_at(np.array([1.5, -1.2, 1.0]), np.array([0.0, 0.0, 0.2]))
    fx, fy, cx, cy = pinhole_intrinsics(40, 30, 60.0)
    out = render_view(scene, c2w, fx, fy, cx, cy, 40, 30)
    world = _unproject(c2w, fx, fy, cx, cy, out["depth"])
    on_sphere = out["instance"] == FIRST_OBJECT_ID
    on_ground = out["instance"] == GROUND_ID
    assert on_sphere.sum() > 50 and on_ground.sum() > 50
    np.testing.assert_allclose(np.linalg.norm(world[on_sphere] - sphere.center, axis=-1), 0.3, atol=1e-4)
    np.testing.assert_allclose(world[on_ground][:, 2], 0.0, atol=1e-4)
    # the pixel towards the sphere's centre: distance |eye - c| - r along the ray, as z-depth
    centre_dir = np.asarray(sphere.center) - c2w[:3, 3]
    cam = c2w[:3, :3].T @ centre_dir
    u, v = fx * cam[0] / -cam[2] + cx, -fy * cam[1] / -cam[2] + cy
    expected = (np.linalg.norm(centre_dir) - 0.3) * -cam[2] / np.linalg.norm(cam)
    assert float(out["depth"][int(v), int(u)]) == pytest.approx(expected, rel=0.01)


def test_surface_points_lie_on_visible_surfaces():
    scene = make_scene(2)
    xyz, rgb, inst = sample_surface_points(scene, 2000, np.random.default_rng(0), position_noise=0.0)
    assert xyz.shape == (2000, 3) and xyz.dtype == np.float32
    assert rgb.shape == (2000, 3) and rgb.dtype == np.uint8
    assert inst.shape == (2000,)
    assert np.allclose(xyz[inst == GROUND_ID][:, 2], 0.0, atol=1e-5)
    for obj in scene.objects:  # every object gets seed points
        assert (inst == obj.instance_id).sum() > 50
    assert (xyz[:, 2] > -1e-5).all()
    noisy, _, _ = sample_surface_points(scene, 2000, np.random.default_rng(0))
    assert 0 < np.abs(noisy - xyz).max() < 0.05


def test_render_is_fast():
    scene = make_scene(0)
    c2w, intr = _view(scene, width=64, height=64)
    render_view(scene, c2w, *intr, 64, 64)
    start = time.perf_counter()
    for _ in range(5):
        render_view(scene, c2w, *intr, 64, 64)
    assert (time.perf_counter() - start) / 5 < 0.25  # ~0.02 s on one core


def test_look_at_convention():
    c2w = look_at(np.array([0.0, -3.0, 0.0]), np.zeros(3))
    np.testing.assert_allclose(-c2w[:3, 2], [0, 1, 0], atol=1e-12)  # looks down -z
    np.testing.assert_allclose(c2w[:3, 1], [0, 0, 1], atol=1e-12)  # y up
    np.testing.assert_allclose(c2w[:3, :3] @ c2w[:3, :3].T, np.eye(3), atol=1e-12)


def test_orbit_poses_look_at_centre():
    center = np.array([0.0, 0.0, 0.2])
    poses = orbit_poses(16, center, 2.5, np.random.default_rng(0))
    assert poses.shape == (16, 4, 4)
    to_center = center - poses[:, :3, 3]
    to_center /= np.linalg.norm(to_center, axis=1, keepdims=True)
    cos = np.einsum("ij,ij->i", -poses[:, :3, 2], to_center)
    assert (cos > 0.99).all()
    assert (poses[:, 2, 3] > center[2]).all()  # above the ground
    np.testing.assert_array_equal(poses, orbit_poses(16, center, 2.5, np.random.default_rng(0)))


def test_interleaved_split():
    train, test = interleaved_split(24, 8)
    assert len(train) == 24 and len(test) == 8
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(32))
    assert 0 not in test and 31 not in test
    train, test = interleaved_split(5, 0)
    assert len(train) == 5 and len(test) == 0


def test_sky_points_carry_sky_colour_far_away():
    scene = make_scene(1)
    xyz, rgb, inst = sample_sky_points(scene, 500, np.random.default_rng(0))
    assert xyz.shape == (500, 3) and (inst == 0).all()
    dist = np.linalg.norm(xyz - np.asarray(scene.center), axis=1)
    assert dist.min() > 3 * scene.radius
    # blue-ish sky: blue channel brightest
    assert (rgb[:, 2] >= rgb[:, 0]).mean() > 0.95
