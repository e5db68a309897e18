"""Per-image camera trajectories over the exposure, kept apart from the Gaussians.

Each training image i owns K control points xi_ik in se(3) (6-vectors: translation rho, then
rotation omega) and learnable sub-frame timestamps. The pose at exposure time t in [0, 1] is

    c2w_i(t) = c2w_i @ exp( sum_k w_k(t) xi_ik )        (a body-frame perturbation)

where w(t) is the curve's basis: Bernstein polynomials (Bezier, DeblurGS), linear
interpolation, or one uniform cubic B-spline segment (BAD-Gaussians' ``linear``/``cubic``).
Control points start at zero plus N(0, init_noise): every sub-frame starts at the image's pose.

Timestamps: N sub-frames per image, the first and last fixed at 0 and 1, the N-2 inner ones
sigmoid(logit), sorted (DeblurGS learns where in the exposure the sub-frames sit).

Where the mid-exposure pose sits (``mid_exposure``):

- ``free`` (DeblurGS): the curve alone places it, so the curve absorbs pose error.
- ``anchored``: the curve is shifted so that it passes through the image's pose, corrected by a
  separate per-image twist m_i, at mid-exposure:

      c2w_i(t) = c2w_i @ exp( m_i + sum_k (w_k(t) - w_k(t_mid)) xi_ik )

  The shape of the exposure and the pose correction then learn at their own rates (the
  ``pose_correction`` optimizer). In a short run a free curve's control points, visited once every
  num_images steps, wander by degrees and carry the whole image with them; anchoring keeps that
  noise out of the pose.
  With ``zero_mean_correction`` the corrections' mean over all images is subtracted after every
  optimizer step: a common body-frame rotation of every camera is nearly the same as moving the
  scene, so the photos barely pin it down and it drifts; the input poses are taken as right on
  average, which keeps the reconstruction registered to them.
- ``fixed``: anchored with m_i = 0, for poses known to be accurate (synthetic data, a motion-capture
  rig, poses from sharp frames).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Optional, Type

import torch
from nerfstudio.configs.base_config import InstantiateConfig
from torch import nn

from ns_plugins.data.errors import DataError
from ns_plugins.splat.geometry import se3_exp

TrajectoryMode = Literal["bezier", "linear", "cubic"]
MidExposure = Literal["free", "anchored", "fixed"]


# ----------------------------------------------------------------------------- curve bases


def bernstein_basis(t: torch.Tensor, order: int) -> torch.Tensor:
    """Bezier weights: t [...] -> [..., order + 1]; w_k = C(order, k) t^k (1 - t)^(order - k)."""
    k = torch.arange(order + 1, dtype=t.dtype, device=t.device)
    binom = torch.tensor([math.comb(order, i) for i in range(order + 1)], dtype=t.dtype, device=t.device)
    t = t[..., None]
    return binom * t**k * (1 - t) ** (order - k)


def linear_basis(t: torch.Tensor) -> torch.Tensor:
    """t [...] -> [..., 2]: (1 - t, t)."""
    return torch.stack([1 - t, t], -1)


def cubic_bspline_basis(t: torch.Tensor) -> torch.Tensor:
    """One uniform cubic B-spline segment: t [...] -> [..., 4] (weights sum to 1)."""
    t2, t3 = t * t, t * t * t
    return torch.stack([(1 - t) ** 3, 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3], -1) / 6


def num_control_points(mode: TrajectoryMode, order: int) -> int:
    """Control points per image of a curve mode (order only matters for Bezier)."""
    return {"bezier": order + 1, "linear": 2, "cubic": 4}[mode]


def curve_basis(mode: TrajectoryMode, t: torch.Tensor, order: int) -> torch.Tensor:
    """t [...] -> weights [..., num_control_points(mode, order)]."""
    if mode == "bezier":
        return bernstein_basis(t, order)
    if mode == "linear":
        return linear_basis(t)
    if mode == "cubic":
        return cubic_bspline_basis(t)
    raise ValueError(f"unknown trajectory mode {mode!r}")


def inner_timestamps_init(num_subframes: int) -> torch.Tensor:
    """Logits [N - 2] of evenly spaced inner timestamps."""
    inner = torch.linspace(0, 1, num_subframes)[1:-1]
    return torch.logit(inner)


def timestamps_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """[B, N - 2] logits -> [B, N] sorted times in [0, 1], ends fixed at 0 and 1."""
    inner = torch.sort(torch.sigmoid(logits), dim=-1).values
    zeros = torch.zeros_like(logits[..., :1])
    return torch.cat([zeros, inner, zeros + 1], -1)


def scale_translation(twist: torch.Tensor, scale: float) -> torch.Tensor:
    """Twists [..., 6] (translation first) with their translation part times ``scale``."""
    if scale == 1.0:
        return twist
    return twist * twist.new_tensor([scale] * 3 + [1.0] * 3)


# ----------------------------------------------------------------------------- module


@dataclass
class ExposureTrajectoryConfig(InstantiateConfig):
    """Camera trajectories over each training image's exposure."""

    _target: Type = field(default_factory=lambda: ExposureTrajectory)
    mode: TrajectoryMode = "bezier"
    """Curve in se(3): Bezier (DeblurGS), linear or cubic B-spline (BAD-Gaussians)."""
    bezier_order: int = 9
    """Bezier order (control points = order + 1); DeblurGS code default 9."""
    num_subframes: int = 21
    """Sharp sub-frames rendered per blurry image (DeblurGS code default 21)."""
    learn_timestamps: bool = True
    """Learn where the inner sub-frames sit in the exposure (ends stay at 0 and 1)."""
    init_noise: float = 1e-3
    """Std of the control points at initialisation (image pose plus N(0, init_noise))."""
    mid_exposure: MidExposure = "free"
    """``free``: the curve places the mid-exposure pose (DeblurGS); ``anchored``: the image's pose
    plus a separate pose correction does; ``fixed``: the image's pose does (see the module docstring)."""
    translation_scale: float = 1.0
    """The curve's translations are its control points' translation part times this. Below 1, Adam
    moves them this many times slower than the rotations: a blur is explained first by rotation, as
    hand shake mostly is (an image shift is nearly the same whether it comes from a small rotation
    or from a translation of the camera, and in a short run the faster one wins)."""
    correction_translation_scale: float = 1.0
    """Anchored only: the pose corrections' translations are their translation part times this. Below 1, Adam
    moves them this many times slower than their rotations, so a pose error is explained first by rotation,
    as with ``translation_scale`` (suite, 1 degree of pure rotation noise: at full rate the corrections' translations
    shifted the image as much as 0.9 degrees of rotation would, and their rotations recovered 60% of the noise)."""
    zero_mean_correction: bool = False
    """Anchored only: remove the pose corrections' mean over all images (the input poses are right
    on average), so that the near-gauge of a common camera rotation cannot drift."""


class ExposureTrajectory(nn.Module):
    """Control points [num_images, K, 6], timestamp logits [num_images, N - 2] and, anchored, pose
    corrections [num_images, 6]."""

    def __init__(self, config: ExposureTrajectoryConfig, num_images: int, **_: object) -> None:
        super().__init__()
        if config.num_subframes < 1:
            raise DataError(
                "--pipeline.model.trajectory.num-subframes",
                f"must be at least 1 (a blur needs sub-frames), got {config.num_subframes}",
            )
        if config.mode == "bezier" and config.bezier_order < 1:
            raise DataError(
                "--pipeline.model.trajectory.bezier-order", f"must be at least 1, got {config.bezier_order}"
            )
        self.config = config
        k = num_control_points(config.mode, config.bezier_order)
        self.control = nn.Parameter(torch.randn(num_images, k, 6) * config.init_noise)
        inner = inner_timestamps_init(max(config.num_subframes, 2))
        self.time_logits = nn.Parameter(inner.expand(num_images, -1).clone(), requires_grad=config.learn_timestamps)
        # zero and unused when the curve is free (kept so that checkpoints of both modes load alike)
        self.pose_correction = nn.Parameter(torch.zeros(num_images, 6), requires_grad=config.mid_exposure == "anchored")

    @property
    def num_subframes(self) -> int:
        return self.config.num_subframes

    def timestamps(self, idx: torch.Tensor) -> torch.Tensor:
        """Sub-frame times [B, N] of images idx [B]; a single sub-frame sits at mid-exposure."""
        if self.config.num_subframes == 1:
            return torch.full((idx.shape[0], 1), 0.5, device=self.control.device)
        return timestamps_from_logits(self.time_logits[idx])

    def twists(self, idx: torch.Tensor, times: torch.Tensor, hold_corrections: bool = False) -> torch.Tensor:
        """idx [B], times [B, T] -> body-frame twists [B, T, 6]; ``hold_corrections``: no gradient reaches the
        pose corrections."""
        weights = curve_basis(self.config.mode, times, self.config.bezier_order)  # [B, T, K]
        control = scale_translation(self.control[idx], self.config.translation_scale)
        if self.config.mid_exposure != "free":
            mid = curve_basis(self.config.mode, self.mid_times(idx), self.config.bezier_order)  # [B, K]
            weights = weights - mid[:, None, :]
            corrections = self.corrections(idx)
            return weights @ control + (corrections.detach() if hold_corrections else corrections)[:, None, :]
        return weights @ control  # [B, T, K] @ [B, K, 6]

    def corrections(self, idx: torch.Tensor) -> torch.Tensor:
        """Mid-exposure pose corrections [B, 6] of images idx [B] (anchored curves)."""
        return scale_translation(self.pose_correction[idx], self.config.correction_translation_scale)

    @torch.no_grad()
    def center_corrections(self) -> None:
        """Subtract the corrections' mean over all images (``zero_mean_correction``, after each step).

        A projection rather than a reparametrisation (m_i - mean_j m_j inside the graph): that would
        hand every image a -g/num_images share of each step's gradient, which Adam's per-parameter
        normalisation blows up into a full-size step for every image.
        """
        self.pose_correction.sub_(self.pose_correction.mean(0))

    def poses(
        self, c2w: torch.Tensor, idx: torch.Tensor, times: Optional[torch.Tensor] = None, hold_corrections: bool = False
    ) -> torch.Tensor:
        """Sub-frame camera-to-worlds [B, T, 3, 4] for image poses c2w [B, 3, 4] of images idx [B].

        times [B, T]: exposure times in [0, 1]; default the learned sub-frame timestamps [B, N].
        hold_corrections: the pose corrections get no gradient (``DeblurGSModelConfig.correction_start_fraction``).
        """
        if times is None:
            times = self.timestamps(idx)
        delta = se3_exp(self.twists(idx, times, hold_corrections))  # [B, T, 4, 4]
        return c2w[:, None, :3, :3] @ delta[..., :3, :] + torch.cat(
            [torch.zeros_like(c2w[:, None, :3, :3]), c2w[:, None, :3, 3:4]], -1
        )

    def mid_times(self, idx: torch.Tensor) -> torch.Tensor:
        """Curve parameter [B] of the middle of each exposure.

        Every sub-frame stands for 1/N of the exposure whatever its timestamp, so the middle of
        the exposure is the median sub-frame's time (learned timestamps may bunch up, moving it
        away from t = 0.5 along the curve).
        """
        return self.timestamps(idx).quantile(0.5, dim=-1)

    def centre_offsets(self, idx: torch.Tensor) -> torch.Tensor:
        """Mean sub-frame twist minus the mid-exposure twist [B, 6] of images idx [B]: where the blur's centre
        sits relative to the mid-exposure pose (zero for a path symmetric about mid-exposure)."""
        twists = self.twists(idx, self.timestamps(idx))  # [B, N, 6]
        return twists.mean(1) - self.twists(idx, self.mid_times(idx)[:, None])[:, 0]

    def mid_poses(self, c2w: torch.Tensor, idx: torch.Tensor, hold_corrections: bool = False) -> torch.Tensor:
        """Mid-exposure poses [B, 3, 4]: the sharp image to render for image idx."""
        return self.poses(c2w, idx, self.mid_times(idx)[:, None].to(c2w), hold_corrections)[:, 0]
