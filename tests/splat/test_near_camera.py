"""Near-camera pruning: where each camera's scene starts, and the Gaussians at its position that go."""

from __future__ import annotations

import torch

from ns_plugins.splat.near_camera import near_cameras, near_depths, project_to_camera
from tests.splat.test_model import make_camera, model  # noqa: F401 (fixture)


def test_projection_depth_and_image_bounds() -> None:
    cam = make_camera((2.0, 0.0, 0.0), size=32)
    points = torch.tensor([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 5.0, 0.0]])  # centre, behind, far off-axis
    depth, inside = project_to_camera(
        points, cam.camera_to_worlds[0], (float(cam.fx), float(cam.fy), float(cam.cx), float(cam.cy)), (32, 32)
    )
    assert torch.allclose(depth[:2], torch.tensor([2.0, -2.0]), atol=1e-5)
    assert inside.tolist() == [True, False, False]


def test_near_depth_is_a_low_quantile_of_the_points_in_view() -> None:
    cams = make_camera((2.0, 0.0, 0.0), size=32)
    g = torch.Generator().manual_seed(0)
    scene = torch.randn(500, 3, generator=g) * 0.1  # a blob at the origin, 2 units in front
    behind = torch.tensor([[3.0, 0.0, 0.0]] * 50)  # behind the camera: not in view, not counted
    depth = near_depths(torch.cat([scene, behind]), cams, quantile=0.02)
    assert 1.6 < float(depth[0]) < 2.0
    # too few points in view: depth unknown (0), so nothing is pruned for that camera
    assert float(near_depths(scene[:5], cams, min_points=20)[0]) == 0.0


def test_near_cameras_marks_the_balls_only() -> None:
    centres = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    means = torch.tensor([[1.8, 0.0, 0.0], [0.0, 1.5, 0.0], [0.0, 0.0, 0.0], [0.0, 2.05, 0.0]])
    marked = near_cameras(means, centres, torch.tensor([0.5, 0.3]), chunk=2)
    assert marked.tolist() == [True, False, False, True]
    assert not near_cameras(means, centres, torch.zeros(2)).any()  # radius 0: off


def test_model_prunes_near_camera_gaussians_after_refinement(model) -> None:  # noqa: F811
    cams = make_camera((2.0, 0.0, 0.0))
    centres, radii = model.near_camera_balls(cams)
    assert 0.5 < float(radii[0]) < 0.9  # half the seed blob's near depth (~1.4 from the camera)
    n = model.num_points
    with torch.no_grad():
        model.gauss_params["means"][:7] = torch.tensor([1.8, 0.0, 0.0])  # a floater at the lens
    model.optimizers = {name: torch.optim.Adam([param]) for name, param in model.gauss_params.items()}
    model.config.warmup_length, model.config.refine_every = 5, 10
    model.prune_near_cameras(centres, radii, step=13)  # not a refinement step: nothing happens
    assert model.num_points == n
    model.prune_near_cameras(centres, radii, step=20)
    assert model.num_points == n - 7
    assert not near_cameras(model.means, centres, radii).any()
    for name, param in model.gauss_params.items():
        assert param.shape[0] == n - 7
        assert model.optimizers[name].param_groups[0]["params"][0] is param  # the optimizer follows
