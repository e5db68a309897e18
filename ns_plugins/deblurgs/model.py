"""DeblurGS model: Gaussians rendered along each training image's exposure trajectory.

Overrides of :class:`PortableSplatModel` (the fewest that do the job):

- ``camera_to_worlds``: in training, the N sub-frame poses of the image's trajectory (one
  mid-exposure pose during the warm-up); otherwise the camera's own pose, i.e. a sharp
  mid-exposure view for ``ns-render``/``ns-eval`` (or, with the viewer's exposure control on, a
  sub-frame of the nearest training camera's trajectory).
- ``outputs_from_render``: in training, ``rgb`` becomes the synthesized blurry image and the
  sub-frames are kept for the smoothness loss.
- ``get_loss_dict``: splatfacto's L1 + D-SSIM on the blurry image, plus the smoothness term.
- ``get_training_callbacks``: GDA sets the densification threshold every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Type, Union, cast

import torch
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation
from torch.nn import Parameter

from ns_plugins.data.errors import DataError
from ns_plugins.deblurgs.blur import synthesize_blur
from ns_plugins.deblurgs.densification import GDAConfig, gda_threshold
from ns_plugins.deblurgs.losses import exponential_weight, subframe_smoothness
from ns_plugins.deblurgs.trajectory import ExposureTrajectory, ExposureTrajectoryConfig
from ns_plugins.deblurgs.viewer import ExposureViewerControls
from ns_plugins.splat.model import PortableSplatModel, PortableSplatModelConfig, RenderResult


@dataclass
class DeblurGSModelConfig(PortableSplatModelConfig):
    """DeblurGS on splatfacto; defaults are the paper's (see config.py for the CPU preset)."""

    _target: Type = field(default_factory=lambda: DeblurGSModel)
    trajectory: ExposureTrajectoryConfig = field(default_factory=ExposureTrajectoryConfig)
    """Per-image exposure trajectories (curve, sub-frames, timestamps)."""
    blur_gamma: float = 2.2
    """Blurry image = mean of sub-frames in linear light x^gamma, tone-mapped back (<= 0: plain mean)."""
    warmup_fraction: float = 1000 / 150000
    """Part of the run that renders only the mid-exposure sub-frame (paper: 1000 iterations)."""
    smooth_weight_start: float = 5e-2
    """Weight of the adjacent-sub-frame L1 at step 0; decays exponentially to smooth_weight_end."""
    smooth_weight_end: float = 1e-2
    centre_weight: float = 0.0
    """Weight of the squared blur-centre offset (``trajectory.centre_offsets``: the mean sub-frame twist minus
    the mid-exposure one, radians and scene units) of each training image. Shifting an image's blur kernel
    and its content in opposite directions leaves the blurry image as it was, so the curves can absorb
    per-view misplacements of the scene (depth errors show up as such shifts) that then appear at held-out
    poses (suite: on straight paths, whose true offset is 0, the learned ones were 0.3-0.5 degrees)."""
    correction_start_fraction: float = 0.0
    """Anchored curves: the pose corrections learn only after this part of the run. Until the scene is sharp
    and in place, what moves them is mostly its blur, and the scene then settles on the moved cameras: on
    noise-free suite scenes they drifted 0.2-0.5 degrees, the sharp photos' too (variation suite)."""
    gda: GDAConfig = field(default_factory=GDAConfig)
    """Gaussian Densification Annealing (threshold schedule)."""
    use_absgrad: bool = False
    """The paper's thresholds are for the plain 2D gradient."""
    densify_grad_thresh: float = 2e-4
    """Used only when GDA is disabled."""


class DeblurGSModel(PortableSplatModel):
    """See the module docstring."""

    config: DeblurGSModelConfig

    train_camera_to_worlds: torch.Tensor  # buffer (register_buffer below)

    def populate_modules(self) -> None:
        if not 0.0 <= self.config.correction_start_fraction < 1.0:
            raise DataError(
                "--pipeline.model.correction-start-fraction",
                f"must be in [0, 1) (a share of the run), got {self.config.correction_start_fraction}",
            )
        super().populate_modules()
        self.trajectory: ExposureTrajectory = self.config.trajectory.setup(num_images=self.num_train_data)
        # training poses (filled by the pipeline, saved with the model) for the viewer and exports
        self.register_buffer("train_camera_to_worlds", torch.zeros(self.num_train_data, 3, 4))
        self.exposure_controls = ExposureViewerControls(self)

    # ---- schedule --------------------------------------------------------------------------

    def in_warmup(self, step: int) -> bool:
        return step < round(self.config.warmup_fraction * self.total_steps)

    def corrections_held(self, step: int) -> bool:
        """Before ``correction_start_fraction`` of the run: no gradient reaches the pose corrections."""
        return step < round(self.config.correction_start_fraction * self.total_steps)

    def smoothness_weight(self, step: int) -> float:
        return exponential_weight(
            step, self.total_steps, self.config.smooth_weight_start, self.config.smooth_weight_end
        )

    def set_densification_threshold(self, step: int) -> None:
        """GDA: the strategy's growth threshold for this step."""
        if self.config.gda.enabled:
            self.strategy.grow_grad2d = gda_threshold(step, self.total_steps, self.config.gda)

    # ---- poses -----------------------------------------------------------------------------

    def center_pose_corrections(self, step: int) -> None:
        """Keep the pose corrections' mean at zero (``trajectory.zero_mean_correction``)."""
        self.trajectory.center_corrections()

    def set_train_poses(self, camera_to_worlds: torch.Tensor) -> None:
        """Remember the training cameras' poses [num_train, 3, 4]."""
        self.train_camera_to_worlds.copy_(camera_to_worlds[:, :3, :4].to(self.train_camera_to_worlds))

    def train_index(self, camera: Cameras) -> torch.Tensor:
        """The training image index [1] of a training camera."""
        idx = camera.metadata["cam_idx"] if camera.metadata and "cam_idx" in camera.metadata else None
        if idx is None:
            raise ValueError("deblurgs trains on cameras with metadata['cam_idx'] (the full-image datamanager sets it)")
        return torch.as_tensor(idx, device=self.device).reshape(1).long()

    def subframe_poses(self, camera: Cameras, step: int) -> torch.Tensor:
        """Training camera -> poses to render [N, 3, 4] (1 at mid-exposure during the warm-up)."""
        idx = self.train_index(camera)
        c2w = camera.camera_to_worlds.reshape(1, 3, 4).to(self.device)
        hold = self.corrections_held(step)
        if self.in_warmup(step):
            return self.trajectory.mid_poses(c2w, idx, hold)
        return self.trajectory.poses(c2w, idx, hold_corrections=hold)[0]

    def camera_to_worlds(self, camera: Cameras) -> torch.Tensor:
        if self.training:
            assert camera.shape[0] == 1, "Only one camera at a time"
            return self.subframe_poses(camera, self.step)
        exposure = self.exposure_controls.pose_for(camera.camera_to_worlds.reshape(-1, 3, 4), self)
        return camera.camera_to_worlds if exposure is None else exposure

    # ---- outputs and losses ----------------------------------------------------------------

    def outputs_from_render(self, result: RenderResult, camera: Cameras) -> Dict[str, Union[torch.Tensor, List]]:
        outputs = super().outputs_from_render(result, camera)
        if self.training and result.rgb.shape[0] > 1:
            subframes = cast(torch.Tensor, outputs["rgb"])  # [N, H, W, 3] with this step's background
            outputs["subframes"] = subframes
            outputs["rgb"] = synthesize_blur(subframes, self.config.blur_gamma)
            if self.config.centre_weight > 0:
                outputs["blur_centre_offset"] = self.trajectory.centre_offsets(self.train_index(camera))[0]
            outputs["accumulation"] = outputs["accumulation"].mean(0)  # type: ignore[union-attr]
            if outputs.get("depth") is not None:
                outputs["depth"] = outputs["depth"].mean(0)  # type: ignore[union-attr]
        return outputs

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, torch.Tensor]:
        loss_dict = super().get_loss_dict(outputs, batch, metrics_dict)
        if self.training and "subframes" in outputs:
            loss_dict["subframe_smoothness"] = self.smoothness_weight(self.step) * subframe_smoothness(
                outputs["subframes"]
            )
            if "blur_centre_offset" in outputs:
                loss_dict["blur_centre"] = self.config.centre_weight * outputs["blur_centre_offset"].square().sum()
        return loss_dict

    def get_metrics_dict(self, outputs, batch) -> Dict[str, torch.Tensor]:
        metrics = super().get_metrics_dict(outputs, batch)
        if self.training:
            metrics["densify_threshold"] = torch.tensor(self.strategy.grow_grad2d)
        return metrics

    # ---- optimisation ----------------------------------------------------------------------

    def get_param_groups(self) -> Dict[str, List[Parameter]]:
        groups = super().get_param_groups()
        groups["trajectory"] = [self.trajectory.control]
        groups["timestamps"] = [self.trajectory.time_logits]
        if self.config.trajectory.mid_exposure == "anchored":
            groups["pose_correction"] = [self.trajectory.pose_correction]
        return groups

    def get_training_callbacks(
        self, training_callback_attributes: TrainingCallbackAttributes
    ) -> List[TrainingCallback]:
        callbacks = super().get_training_callbacks(training_callback_attributes)
        callbacks.append(
            TrainingCallback([TrainingCallbackLocation.BEFORE_TRAIN_ITERATION], self.set_densification_threshold)
        )
        if self.config.trajectory.zero_mean_correction and self.config.trajectory.mid_exposure == "anchored":
            callbacks.append(
                TrainingCallback([TrainingCallbackLocation.AFTER_TRAIN_ITERATION], self.center_pose_corrections)
            )
        return callbacks

    @torch.no_grad()
    def sharp_train_poses(self, idx: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Mid-exposure poses [B, 3, 4] of training images idx [B] (default all)."""
        if idx is None:
            idx = torch.arange(self.num_train_data, device=self.device)
        return self.trajectory.mid_poses(self.train_camera_to_worlds[idx], idx)
