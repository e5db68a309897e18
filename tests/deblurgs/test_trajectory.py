"""Exposure trajectories: identity at init, interpolation, exp/log round trip, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from ns_plugins.data.errors import DataError
from ns_plugins.deblurgs.trajectory import (
    ExposureTrajectoryConfig,
    TrajectoryMode,
    bernstein_basis,
    cubic_bspline_basis,
    timestamps_from_logits,
)
from ns_plugins.splat.geometry import rotation_angle_deg, se3_exp, se3_log, so3_exp, so3_log


def random_c2w(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    twist = torch.randn(n, 6, generator=g, dtype=torch.float64)
    return se3_exp(twist)[:, :3, :]


def test_identity_at_init_without_noise() -> None:
    traj = ExposureTrajectoryConfig(num_subframes=5, init_noise=0.0).setup(num_images=3).double()
    c2w = random_c2w(3)
    idx = torch.tensor([0, 2, 1])
    poses = traj.poses(c2w, idx)
    assert poses.shape == (3, 5, 3, 4)
    assert torch.allclose(poses, c2w[:, None].expand_as(poses), atol=1e-12)
    assert torch.allclose(traj.mid_poses(c2w, idx), c2w, atol=1e-12)


def test_default_noise_keeps_poses_near_the_image_pose() -> None:
    traj = ExposureTrajectoryConfig().setup(num_images=4).double()  # paper: N(0, 1e-3)
    c2w = random_c2w(4)
    poses = traj.poses(c2w, torch.arange(4))
    assert (rotation_angle_deg(poses[..., :3, :3], c2w[:, None, :3, :3].expand(-1, 21, -1, -1)) < 0.5).all()


@pytest.mark.parametrize("mode", ["bezier", "linear", "cubic"])
def test_curve_interpolates_its_control_points(mode: TrajectoryMode) -> None:
    traj = ExposureTrajectoryConfig(mode=mode, bezier_order=3, num_subframes=4).setup(num_images=1).double()
    with torch.no_grad():
        traj.control.copy_(torch.randn_like(traj.control) * 0.1)
    eye = torch.eye(4, dtype=torch.float64)[None, :3]
    idx = torch.tensor([0])
    times = torch.tensor([[0.0, 0.5, 1.0]], dtype=torch.float64)
    poses = traj.poses(eye, idx, times)[0]
    ctrl = traj.control[0].detach()
    if mode == "cubic":  # an approximating spline: compare with its closed form
        expect = [cubic_bspline_basis(torch.tensor(t, dtype=torch.float64)) @ ctrl for t in (0.0, 0.5, 1.0)]
        assert torch.allclose(expect[0], (ctrl[0] + 4 * ctrl[1] + ctrl[2]) / 6)
    else:  # Bezier and linear pass through their end control points
        mid = bernstein_basis(torch.tensor(0.5, dtype=torch.float64), ctrl.shape[0] - 1) @ ctrl
        expect = [ctrl[0], mid, ctrl[-1]]
    for pose, twist in zip(poses, expect):
        assert torch.allclose(pose, se3_exp(twist)[:3], atol=1e-10)


def test_linear_midpoint_is_average_twist() -> None:
    traj = ExposureTrajectoryConfig(mode="linear", num_subframes=3).setup(num_images=1).double()
    eye = torch.eye(4, dtype=torch.float64)[None, :3]
    pose = traj.poses(eye, torch.tensor([0]), torch.tensor([[0.5]], dtype=torch.float64))[0, 0]
    assert torch.allclose(pose, se3_exp(traj.control[0].mean(0))[:3], atol=1e-12)


def test_exp_log_round_trip() -> None:
    g = torch.Generator().manual_seed(1)
    twists = torch.randn(64, 6, generator=g, dtype=torch.float64)
    twists[:, 3:] *= 2.5 / twists[:, 3:].norm(dim=-1, keepdim=True).clamp_min(1.0)  # angles below pi
    twists[:8, 3:] *= 1e-7  # the small-angle branch
    assert torch.allclose(se3_log(se3_exp(twists)), twists, atol=1e-8)
    omega = twists[:, 3:]
    assert torch.allclose(so3_log(so3_exp(omega)), omega, atol=1e-8)
    rot = so3_exp(omega)
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(64, 3, 3), atol=1e-12)
    assert torch.allclose(torch.det(rot), torch.ones(64, dtype=torch.float64))


def test_known_rotation() -> None:
    rot = so3_exp(torch.tensor([0.0, 0.0, math.pi / 2]))
    assert torch.allclose(rot @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)


def test_timestamps_sorted_with_fixed_ends() -> None:
    times = timestamps_from_logits(torch.tensor([[2.0, -1.0, 0.0]]))
    assert times[0, 0] == 0 and times[0, -1] == 1
    assert (times[0, 1:] >= times[0, :-1]).all()


def test_gradients_reach_control_points_and_timestamps() -> None:
    traj = ExposureTrajectoryConfig(num_subframes=5, bezier_order=3).setup(num_images=2)
    c2w = random_c2w(2).float()
    poses = traj.poses(c2w, torch.tensor([1]))
    target = torch.randn(3)
    (poses[..., :3, 3] @ target).sum().backward()
    assert traj.control.grad[1].abs().sum() > 0 and traj.control.grad[0].abs().sum() == 0
    assert traj.time_logits.grad[1].abs().sum() > 0


def test_zero_subframes_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="num-subframes"):
        ExposureTrajectoryConfig(num_subframes=0).setup(num_images=2)


def test_mid_exposure_is_the_median_subframe():
    """Bunched timestamps move the exposure's middle along the curve: mid_poses follows the median sub-frame."""
    traj = ExposureTrajectoryConfig(mode="linear", num_subframes=5, init_noise=0.0).setup(num_images=1)
    with torch.no_grad():
        traj.control[0, 1, 3] = 0.1  # rotation about x from 0 (t = 0) to 0.1 rad (t = 1)
        traj.time_logits[0] = torch.logit(torch.tensor([0.1, 0.2, 0.3]))
    c2w = torch.eye(4)[None, :3]
    idx = torch.tensor([0])
    assert torch.allclose(traj.mid_times(idx), torch.tensor([0.2]))
    assert torch.allclose(traj.mid_poses(c2w, idx), traj.poses(c2w, idx)[:, 2], atol=1e-6)


@pytest.mark.parametrize("mode", ["bezier", "linear", "cubic"])
def test_fixed_mid_exposure_is_the_image_pose(mode: TrajectoryMode) -> None:
    traj = (
        ExposureTrajectoryConfig(mode=mode, bezier_order=2, num_subframes=5, mid_exposure="fixed")
        .setup(num_images=2)
        .double()
    )
    with torch.no_grad():
        traj.control.copy_(torch.randn_like(traj.control) * 0.1)
    c2w, idx = random_c2w(2), torch.tensor([0, 1])
    assert torch.allclose(traj.mid_poses(c2w, idx), c2w, atol=1e-12)
    spread = rotation_angle_deg(traj.poses(c2w, idx)[:, 0, :3, :3], traj.poses(c2w, idx)[:, -1, :3, :3])
    assert (spread > 1.0).all()  # the curve still spreads the sub-frames
    assert not traj.pose_correction.requires_grad


def test_anchored_mid_exposure_is_the_pose_plus_its_correction() -> None:
    traj = (
        ExposureTrajectoryConfig(bezier_order=3, num_subframes=5, mid_exposure="anchored").setup(num_images=2).double()
    )
    correction = torch.tensor([0.01, 0.0, -0.02, 0.03, -0.01, 0.02], dtype=torch.float64)
    with torch.no_grad():
        traj.control.copy_(torch.randn_like(traj.control) * 0.1)
        traj.pose_correction[1] = correction
    c2w = random_c2w(2)
    mid = traj.mid_poses(c2w[1:], torch.tensor([1]))[0]
    expect = torch.cat([c2w[1], torch.tensor([[0.0, 0, 0, 1]], dtype=torch.float64)]) @ se3_exp(correction)
    assert torch.allclose(mid, expect[:3], atol=1e-12)
    traj.poses(c2w[1:], torch.tensor([1]))[..., :3, 3].sum().backward()
    assert traj.pose_correction.grad[1].abs().sum() > 0 and traj.pose_correction.grad[0].abs().sum() == 0
    assert traj.control.grad[1].abs().sum() > 0


def test_zero_mean_correction_removes_a_common_rotation() -> None:
    config = ExposureTrajectoryConfig(
        bezier_order=2, num_subframes=5, mid_exposure="anchored", zero_mean_correction=True
    )
    traj = config.setup(num_images=3).double()
    common = torch.tensor([0.0, 0.0, 0.0, 0.02, 0.0, 0.0], dtype=torch.float64)
    own = torch.tensor([0.0, 0.01, 0.0, 0.0, 0.0, -0.01], dtype=torch.float64)
    with torch.no_grad():
        traj.pose_correction.copy_(common.expand(3, 6))
        traj.pose_correction[1] += own * 3
        traj.pose_correction[2] -= own * 3
    traj.center_corrections()
    c2w, idx = random_c2w(3), torch.arange(3)
    # a rotation shared by every image is removed; each image's own deviation from the mean stays
    assert torch.allclose(traj.pose_correction.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-15)
    assert torch.allclose(traj.mid_poses(c2w[:1], idx[:1]), c2w[:1], atol=1e-12)
    expect = torch.cat([c2w[1], torch.tensor([[0.0, 0, 0, 1]], dtype=torch.float64)]) @ se3_exp(own * 3)
    assert torch.allclose(traj.mid_poses(c2w[1:2], idx[1:2])[0], expect[:3], atol=1e-12)
    # a gradient step on one image's correction does not touch the others' (no coupling through the mean)
    traj.mid_poses(c2w[1:2], idx[1:2]).sum().backward()
    assert traj.pose_correction.grad[0].abs().sum() == 0 and traj.pose_correction.grad[1].abs().sum() > 0


def test_held_corrections_get_no_gradient() -> None:
    """``hold_corrections`` (before ``correction_start_fraction``): the curve learns, the pose correction does not."""
    traj = ExposureTrajectoryConfig(bezier_order=2, num_subframes=5, mid_exposure="anchored").setup(num_images=2)
    with torch.no_grad():
        traj.pose_correction.fill_(0.01)
    c2w, idx = random_c2w(1).float(), torch.tensor([1])
    held = traj.poses(c2w, idx, hold_corrections=True)
    assert torch.allclose(held, traj.poses(c2w, idx))  # the same poses
    held.sum().backward()
    assert traj.pose_correction.grad is None and traj.control.grad is not None
    traj.mid_poses(c2w, idx).sum().backward()
    assert traj.pose_correction.grad is not None and traj.pose_correction.grad[1].abs().sum() > 0


def test_translation_scale_scales_only_the_curve_translation() -> None:
    plain = ExposureTrajectoryConfig(bezier_order=2, num_subframes=5).setup(num_images=2).double()
    scaled = (
        ExposureTrajectoryConfig(bezier_order=2, num_subframes=5, translation_scale=0.2).setup(num_images=2).double()
    )
    with torch.no_grad():
        scaled.control.copy_(torch.randn_like(plain.control) * 0.1)
        plain.control.copy_(scaled.control)
    idx = torch.arange(2)
    times = plain.timestamps(idx)
    a, b = plain.twists(idx, times), scaled.twists(idx, times)
    assert torch.allclose(b[..., 3:], a[..., 3:]) and torch.allclose(b[..., :3], 0.2 * a[..., :3])
    # with Adam the step is ~lr whatever the gradient's size: the translation moves 5x slower
    b[..., :3].abs().sum().backward()
    assert scaled.control.grad[..., :3].abs().sum() > 0 and scaled.control.grad[..., 3:].abs().sum() == 0


def test_correction_translation_scale_scales_only_the_correction_translation() -> None:
    config = ExposureTrajectoryConfig(
        bezier_order=2, num_subframes=5, mid_exposure="anchored", correction_translation_scale=0.2
    )
    traj = config.setup(num_images=2).double()
    correction = torch.tensor([0.05, -0.02, 0.01, 0.03, -0.01, 0.02], dtype=torch.float64)
    with torch.no_grad():
        traj.pose_correction[1] = correction
    effective = traj.corrections(torch.tensor([1]))[0]
    assert torch.allclose(effective[3:], correction[3:]) and torch.allclose(effective[:3], 0.2 * correction[:3])
    c2w = random_c2w(2)
    mid = traj.mid_poses(c2w[1:], torch.tensor([1]))[0]
    expect = torch.cat([c2w[1], torch.tensor([[0.0, 0, 0, 1]], dtype=torch.float64)]) @ se3_exp(effective)
    assert torch.allclose(mid, expect[:3], atol=1e-12)


@pytest.mark.parametrize("mid_exposure", ["free", "anchored"])
def test_blur_centre_offset_is_zero_for_a_symmetric_path_and_follows_curvature(mid_exposure: str) -> None:
    traj = (
        ExposureTrajectoryConfig(bezier_order=2, num_subframes=9, init_noise=0.0, mid_exposure=mid_exposure)  # type: ignore[arg-type]
        .setup(num_images=1)
        .double()
    )
    velocity = torch.tensor([0.01, 0.0, 0.0, 0.0, 0.05, 0.0], dtype=torch.float64)
    bend = torch.tensor([0.0, 0.0, 0.0, 0.02, 0.0, 0.0], dtype=torch.float64)
    idx = torch.tensor([0])
    with torch.no_grad():  # Bezier(t) = velocity (t - 1/2): a straight path centred on mid-exposure
        traj.control[0] = torch.stack([-velocity / 2, torch.zeros(6, dtype=torch.float64), velocity / 2])
    assert traj.centre_offsets(idx).abs().max() < 1e-8  # the timestamps start from float32 logits
    with torch.no_grad():  # + 2 t (1 - t) bend: the path bows, its mean leaves mid-exposure
        traj.control[0, 1] = bend
    # 9 evenly spaced times t_k = k / 8: mean 2 t (1 - t) = 2 (1/2 - 17/48), minus its value 1/2 at mid-exposure
    expected = (2 * (0.5 - 17 / 48) - 0.5) * bend
    assert torch.allclose(traj.centre_offsets(idx)[0], expected, atol=1e-8)
    traj.centre_offsets(idx).square().sum().backward()
    assert traj.control.grad is not None and traj.control.grad.abs().sum() > 0
