"""RainyScape model: a clean Gaussian scene B plus a per-view rain layer R >= 0, rainy image Y = B + R.

Overrides of :class:`PortableSplatModel`:

- ``outputs_from_render``: ``rgb`` stays the clean render B; ``rain`` (R) and ``rainy`` (B + R) are
  added for training views (in training from stage 2 on, identified by ``metadata["cam_idx"]``;
  otherwise by the camera's pose matching a training pose, e.g. a training camera in the viewer,
  or the nearest one when the viewer's checkbox is on). Other cameras get R = 0. In training the
  view index goes to the loss as ``outputs["rain_view"]`` (a long tensor [1]).
- ``get_loss_dict``: stage 1 (the first ``stage1_fraction`` of the run, authors: 4000 of 30000)
  fits B alone to the rainy images (splatfacto's 0.8 L1 + 0.2 D-SSIM). Stage 2, as the authors'
  code: the Gaussians get 0.8 (L1(B + sg(R), Y) + L1(B, Y)) + 0.2 D-SSIM(B + sg(R), Y) (the presets clamp
  R there to the photo's top-hats, ``rain_bound_fraction``, weigh L1(B, Y) by 0.5 and divide the sum by
  1 + 0.8 x 0.5, ``normalise_gaussian_loss``); the rain
  net gets the rain likelihood + TV + direction loss with B detached (``rain_loss_reaches_gaussians``
  lets TV and the direction loss reach B; with B detached TV(B) has no effect, as in the released code);
  the rain angle is re-estimated every step from Y - B (the scene's angle: the peak of every view's
  latest gradient-orientation histogram, summed). With ``background_noise`` (a training background colour per
  pixel) the rain net and the angle see B over a fixed mid-grey, so the rain layer does not learn the noise of
  partly covered pixels; only the Gaussians' loss sees it. The loss also returns what the after-step work needs
  (``RainFitInputs``: view, Y, B detached, angle), kept for the callback below as splatfacto keeps its
  render ``info`` for densification.
- ``get_training_callbacks``: after the trainer's step (AFTER_TRAIN_ITERATION), ``rain_updates`` - 1
  extra updates of the rain net on this step's view with B fixed, through the trainer's own
  ``rain_state_net`` / ``rain_generator`` optimizers (a short run visits each view a few dozen
  times: one update per visit leaves R a blur), then the optional Langevin E-step on the view's
  latent and the scene state.
- ``get_param_groups``: the state net and the rain generator get their own optimizers, owned by the
  trainer (so their state is in its checkpoints and a resumed run continues them); the latents,
  scene state and angle estimates are buffers / frozen parameters in the model's state_dict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Type, Union, cast

import torch
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation
from nerfstudio.engine.optimizers import Optimizers
from torch.nn import Parameter

from ns_plugins.data.errors import DataError
from ns_plugins.rainyscape.datamanager import CAMERA_CODES_KEY, IMAGE_SIZE_KEY
from ns_plugins.rainyscape.losses import direction_loss, rain_likelihood, total_variation
from ns_plugins.rainyscape.rain_angle import (
    AngleTracker,
    gradient_orientations,
    orientation_histogram,
    peak_orientation,
    scene_angle_from_histograms,
    scene_angle_from_views,
    streak_angle,
)
from ns_plugins.rainyscape.rain_bound import bound_size, clamp_rain
from ns_plugins.rainyscape.rain_predictor import RainPredictor, RainPredictorConfig
from ns_plugins.rainyscape.viewer import RainViewerControls
from ns_plugins.splat.model import PortableSplatModel, PortableSplatModelConfig, RenderResult

POSE_MATCH_TOLERANCE = 1e-4
"""Largest camera-to-world difference at which a camera counts as a training camera."""
RAIN_VIEW_KEY = "rain_view"
"""Training outputs: the training view (long [1]) whose rain layer ``rain`` is."""
RAIN_OPTIMIZERS = ("rain_state_net", "rain_generator")
"""The trainer's parameter groups (optimizers) of the rain net."""


@dataclass(frozen=True)
class RainFitInputs:
    """What one training step's rain fit needs after the trainer's step: view index, rainy image Y
    and clean render B [H, W, 3] (both detached), and the rain angle the loss used (None before the first)."""

    view: int
    rainy: torch.Tensor
    clean: torch.Tensor
    angle: Optional[float]


@dataclass
class RainyScapeModelConfig(PortableSplatModelConfig):
    """RainyScape on splatfacto; defaults are the authors' (config.py has the CPU preset)."""

    _target: Type = field(default_factory=lambda: RainyScapeModel)
    predictor: RainPredictorConfig = field(default_factory=RainPredictorConfig)
    """Sizes of the latents, state and rain networks."""
    stage1_fraction: float = 4000 / 30000
    """Part of the run in which the renderer trains alone on the rainy images (spectral bias)."""
    stage1_steps: Optional[int] = None
    """Absolute length of stage 1 in steps (wins over stage1_fraction); must end before the run does."""
    likelihood_eps2: float = 500.0
    """Weight of the plain MSE of the residual in the rain loss (authors' epsilon2)."""
    tv_weight: float = 0.5
    """rho: TV of the clean render in the rain loss (has an effect only when the loss reaches the Gaussians)."""
    direction_weight: float = 1.0
    """w_gd: the direction-sensitive gradient loss."""
    direction_clean_weight: float = 0.5
    """Weight of its clean-image term."""
    dark_l1_weight: float = 5.0
    """With ``predictor.darkening``: L1 of the rain layer's negative part, mean(max(-R, 0)). Without it a dark
    offset of R on rain-free pixels is free (B brightens to match: the likelihood sees the same residual), and
    on rain that only brightens the dark layer took B's place (suite, scene classic: mean max(-R, 0) of 0.010
    on rain-free pixels; derained gain over the baseline with weights 0 / 1 / 5 / 30: +1.26 / +2.02 / +2.18 /
    +1.83 dB, darkening rain (mixed) +1.32 / +1.33 / +1.26 / +0.52; one run each)."""
    clean_l1_weight: float = 1.0
    """Stage 2: weight of the extra L1(B, Y) of the Gaussians' loss (authors' code: 1; the presets: 0.5, see
    config.py)."""
    clean_l1_rain_threshold: Optional[float] = None
    """Drop the extra L1(B, Y) on pixels where the predicted rain exceeds this (None: everywhere, as the
    authors): there it pulls B towards the rainy pixel, against L1(B + R, Y)."""
    rain_bound_fraction: Optional[float] = None
    """The Gaussians see the rain layer clamped to the rainy photo's top-hats (``rain_bound``) with a square this
    share of the image width: rain can only be where the photo has structure thinner than that. Without it the
    rain layer fills holes and dark floaters of B on a smooth sky (variation suite, issue16: a bright patch of R
    over each), and the Gaussians' loss no longer sees them. None: unclamped (authors). Cost per step on one
    CPU thread: 2 ms at 64x64, 0.3 s at 1000x700 whatever the square (a running maximum by blocks)."""
    normalise_gaussian_loss: bool = False
    """Stage 2: divide the Gaussians' loss by 1 + 0.8 ``clean_l1_weight``, so its weights sum to splatfacto's.
    The extra L1(B, Y) nearly doubles the gradients that densification thresholds (``densify_grad_thresh``),
    and B grew into more, smaller Gaussians than the rainy baseline (variation suite, issue16: derained
    25.14 -> 26.03 dB with the threshold doubled, the baseline 23.74 -> 23.96). False: as the authors."""
    rain_loss_reaches_gaussians: bool = False
    """Let the TV and direction terms train the Gaussians too (the released code detaches B)."""
    angle_bins: int = 60
    angle_min_magnitude: float = 0.1
    """Sobel magnitude above which a residual pixel votes for the rain angle."""
    angle_edge_min: Optional[float] = 0.1
    """Residual gradients along the clean render's own edges stronger than this (Sobel magnitude) do not vote
    for the rain angle: they are B's misfit of the scene, not rain (``rain_angle.edge_parallel``; variation
    suite: a checkerboard ground put two scenes' estimates 57 and 89 degrees off). None: every gradient votes
    (authors)."""
    angle_edge_ratio: float = 1.0
    """... and stronger in B than this times the residual's gradient there (a partly absorbed streak is
    weaker in B than in Y - B, an edge's misfit the other way round)."""
    angle_from_views: bool = True
    """The scene's rain angle is the peak of every training view's latest gradient-orientation histogram, summed
    (``scene_angle_from_histograms``): rain votes for one angle in every view, the scene's own edges for
    different ones (variation suite: the running mean below ended 16-17 degrees off on two scenes whose per-view
    median was 4-5). False: the running mean."""
    angle_momentum: float = 0.9
    """With ``angle_from_views`` False: exponential averaging of the per-step angle estimates (0: this step's
    estimate only, as the authors)."""
    langevin_steps: int = 5
    """Langevin E-step updates of the view's latent and the scene state per step (0: no E-step)."""
    langevin_delta: float = 0.03
    langevin_prior: float = 50.0
    """Variance of the Gaussian prior on latents and state in the E-step."""
    rain_updates: int = 1
    """M-step updates of the rain net per training step (authors: 1). The extra ones fit this view's rain
    to its residual with B fixed, after the joint step: a short run visits each view a few dozen times."""


class RainyScapeModel(PortableSplatModel):
    """See the module docstring."""

    config: RainyScapeModelConfig

    # buffers (register_buffer below)
    train_camera_codes: torch.Tensor
    rain_angle_state: torch.Tensor
    view_rain_angles: torch.Tensor
    view_rain_histograms: torch.Tensor

    def populate_modules(self) -> None:
        super().populate_modules()
        metadata = self.kwargs.get("metadata") or {}
        if IMAGE_SIZE_KEY not in metadata or CAMERA_CODES_KEY not in metadata:
            raise DataError(
                "--pipeline.datamanager",
                "rainyscape needs its own datamanager (RainyDatamanagerConfig), which reports the training image size",
            )
        height, width = metadata[IMAGE_SIZE_KEY]
        if self.config.predictor.map_channels < 1:
            raise DataError(
                "--pipeline.model.predictor.map-channels",
                f"must be 1 or more, got {self.config.predictor.map_channels}",
            )
        fraction = self.config.rain_bound_fraction
        if fraction is not None and not 0.0 < fraction <= 1.0:
            raise DataError("--pipeline.model.rain-bound-fraction", f"must be in (0, 1], got {fraction}")
        self.predictor = RainPredictor(self.config.predictor, self.num_train_data, height, width)
        self.register_buffer("train_camera_codes", metadata[CAMERA_CODES_KEY].detach().clone().float())
        self.register_buffer("rain_angle_state", torch.zeros(2))
        self.register_buffer("view_rain_angles", torch.full((self.num_train_data,), float("nan")))
        self.register_buffer("view_rain_histograms", torch.zeros(self.num_train_data, self.config.angle_bins))
        self.angle_tracker = AngleTracker(self.config.angle_momentum)
        self.stage1_end = self.check_schedule()
        # the last training step's rain-fit inputs, set by get_loss_dict and consumed by the
        # after-step callback (splatfacto keeps its render info for densification the same way)
        self.pending_rain_fit: Optional[RainFitInputs] = None
        self.rain_controls = RainViewerControls()

    # ---- schedule ----------------------------------------------------------------------------

    def check_schedule(self) -> int:
        """The step at which stage 2 starts; a DataError when stage 1 would not end before the run."""
        if not 0.0 <= self.config.stage1_fraction < 1.0:
            raise DataError("--pipeline.model.stage1-fraction", f"must be in [0, 1), got {self.config.stage1_fraction}")
        end = (
            self.config.stage1_steps
            if self.config.stage1_steps is not None
            else round(self.config.stage1_fraction * self.total_steps)
        )
        if end < 0 or end >= self.total_steps:
            raise DataError(
                "--pipeline.model.stage1-steps",
                f"stage 1 ends at step {end}, not before the run's {self.total_steps} steps: the rain layer would "
                "never train (lower it, or raise --max-num-iterations)",
            )
        return end

    def in_stage2(self, step: int) -> bool:
        return step >= self.stage1_end

    # ---- rain --------------------------------------------------------------------------------

    def view_index(self, camera: Cameras) -> Optional[int]:
        """The training view a camera shows: cam_idx in training, a matching (or, with the viewer's
        checkbox, the nearest) training pose otherwise; None for other cameras."""
        if self.training:
            if camera.metadata and "cam_idx" in camera.metadata:
                return int(camera.metadata["cam_idx"])
            return None
        c2w = camera.camera_to_worlds.reshape(-1, 12)[:1].to(self.train_camera_codes)
        diff = (self.train_camera_codes[:, :12] - c2w).abs().amax(-1)
        i = int(diff.argmin())
        if float(diff[i]) <= POSE_MATCH_TOLERANCE:
            return i
        if self.rain_controls.use_nearest:
            centres = self.train_camera_codes[:, :12].reshape(-1, 3, 4)[:, :, 3]
            return int((centres - c2w.reshape(3, 4)[:, 3]).norm(dim=-1).argmin())
        return None

    def predict_rain(self, view: int, height: int, width: int) -> torch.Tensor:
        """Rain layer [H, W, 3] >= 0 of training view ``view``."""
        idx = torch.tensor([view], device=self.device)
        return self.predictor(idx, self.train_camera_codes[idx], height, width)[0]

    def rain_angle(self) -> Optional[float]:
        """The scene-wide rain angle estimate (radians along the streaks), None before stage 2."""
        angle = None
        if self.config.angle_from_views:
            angle = scene_angle_from_histograms(self.view_rain_histograms)
            if angle is None:  # checkpoints saved before the per-view histograms existed
                angle = scene_angle_from_views(self.view_rain_angles)
        # the running mean: when chosen, and for checkpoints saved before the per-view estimates existed
        return AngleTracker.angle(self.rain_angle_state) if angle is None else angle

    # ---- outputs -----------------------------------------------------------------------------

    def outputs_from_render(self, result: RenderResult, camera: Cameras) -> Dict[str, Union[torch.Tensor, List]]:
        outputs = super().outputs_from_render(result, camera)
        if self.training and not self.in_stage2(self.step):
            return outputs
        clean = cast(torch.Tensor, outputs["rgb"])
        if clean.dim() != 3:  # several cameras at once: no per-view rain
            return outputs
        view = self.view_index(camera)
        if view is None:
            rain = torch.zeros_like(clean)
        else:
            rain = self.predict_rain(view, clean.shape[0], clean.shape[1])
            if self.training:
                outputs[RAIN_VIEW_KEY] = torch.tensor([view], device=self.device)
        outputs["rain"] = rain
        outputs["rainy"] = clean + rain if self.training else torch.clamp(clean + rain, 0.0, 1.0)
        return outputs

    # ---- losses ------------------------------------------------------------------------------

    def rain_loss_terms(
        self, rainy: torch.Tensor, clean: torch.Tensor, rain: torch.Tensor, angle: Optional[float]
    ) -> Dict[str, torch.Tensor]:
        """The rain net's loss terms for images [H, W, 3] (``clean`` detached unless the loss reaches the Gaussians)."""
        likelihood, mse = rain_likelihood(rainy, clean, rain, self.config.likelihood_eps2)
        terms = {"rain_likelihood": likelihood, "rain_mse": mse}
        if self.config.predictor.darkening and self.config.dark_l1_weight > 0:
            terms["rain_dark_l1"] = self.config.dark_l1_weight * (-rain).clamp_min(0).mean()
        if clean.requires_grad and self.config.tv_weight > 0:
            terms["clean_tv"] = self.config.tv_weight * total_variation(clean)
        if angle is not None and self.config.direction_weight > 0:
            terms["rain_direction"] = self.config.direction_weight * direction_loss(
                rainy, clean, rain, angle, self.config.direction_clean_weight
            )
        return terms

    def update_rain_angle(self, rainy: torch.Tensor, clean: torch.Tensor, view: Optional[int]) -> Optional[float]:
        """Estimate the angle of training view ``view``'s residual Y - B (rainy, clean [H, W, 3]), fold it into
        the scene's estimate; the angle the loss uses."""
        edge_min = self.config.angle_edge_min
        orientations = gradient_orientations(
            (rainy - clean).detach(),
            self.config.angle_min_magnitude,
            None if edge_min is None else clean.detach(),
            min_edge=edge_min or 0.0,
            edge_ratio=self.config.angle_edge_ratio,
        )
        estimate = streak_angle(peak_orientation(orientations, self.config.angle_bins))
        if estimate is not None:
            self.rain_angle_state.copy_(self.angle_tracker.update(self.rain_angle_state, estimate))
            if view is not None:
                self.view_rain_angles[view] = estimate
                self.view_rain_histograms[view] = orientation_histogram(orientations, self.config.angle_bins)
        if self.config.angle_from_views or self.config.angle_momentum > 0:
            return self.rain_angle()
        return estimate

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, torch.Tensor]:
        if not self.training or "rain" not in outputs:
            return super().get_loss_dict(outputs, batch, metrics_dict)
        clean, rain = outputs["rgb"], outputs["rain"]
        rainy = self.composite_with_background(self.get_gt_img(batch["image"]), outputs["background"])
        seen = clean.detach()
        if self.config.background_noise:  # the rain net sees B over one fixed grey, not the Gaussians' noise
            seen = (seen + (1 - outputs["accumulation"].detach()) * (0.5 - outputs["background"])).clamp(0.0, 1.0)
        view = outputs.get(RAIN_VIEW_KEY)
        angle = self.update_rain_angle(rainy, seen, None if view is None else int(view[0]))
        self.pending_rain_fit = None if view is None else RainFitInputs(int(view[0]), rainy.detach(), seen, angle)
        # the Gaussians see the rain as fixed (authors' code), plus an L1 of B alone to the rainy image
        rain_seen = rain.detach()
        if self.config.rain_bound_fraction is not None:
            rain_seen = clamp_rain(rain_seen, rainy, bound_size(self.config.rain_bound_fraction, rainy.shape[1]))
        loss_dict = super().get_loss_dict({**outputs, "rgb": clean + rain_seen}, batch, metrics_dict)
        l1_share = 1 - self.config.ssim_lambda
        norm = 1 / (1 + l1_share * self.config.clean_l1_weight) if self.config.normalise_gaussian_loss else 1.0
        loss_dict["main_loss"] = norm * loss_dict["main_loss"]
        if self.config.clean_l1_weight > 0:
            anchor = (clean - rainy).abs()
            if self.config.clean_l1_rain_threshold is not None:
                anchor = anchor * (rain.detach().amax(-1, keepdim=True) <= self.config.clean_l1_rain_threshold)
            loss_dict["clean_l1"] = norm * self.config.clean_l1_weight * l1_share * anchor.mean()
        clean_for_rain = clean if self.config.rain_loss_reaches_gaussians else seen
        loss_dict.update(self.rain_loss_terms(rainy, clean_for_rain, rain, angle))
        return loss_dict

    # ---- after the trainer's step: extra rain-net updates and the E-step ----------------------

    def get_training_callbacks(
        self, training_callback_attributes: TrainingCallbackAttributes
    ) -> List[TrainingCallback]:
        """The base model's callbacks, then (after each training step) ``after_train_step`` with the trainer's
        optimizers."""
        callbacks = super().get_training_callbacks(training_callback_attributes)
        optimizers = training_callback_attributes.optimizers
        if optimizers is not None:
            callbacks.append(
                TrainingCallback(
                    [TrainingCallbackLocation.AFTER_TRAIN_ITERATION], self.after_train_step, args=[optimizers]
                )
            )
        return callbacks

    def after_train_step(self, optimizers: Optimizers, step: int) -> None:
        """Callback: the extra rain-net updates and the E-step on the step's view (see ``fit_pending_rain``)."""
        self.fit_pending_rain(optimizers.optimizers)

    def fit_pending_rain(self, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
        """Consume the last training step's ``pending_rain_fit``: ``rain_updates`` - 1 updates of the rain
        net with the given (the trainer's) rain optimizers, then the Langevin E-step. Nothing without one."""
        inputs, self.pending_rain_fit = self.pending_rain_fit, None
        if inputs is None:
            return
        if self.config.rain_updates > 1:
            self.fit_rain(inputs, [optimizers[name] for name in RAIN_OPTIMIZERS], self.config.rain_updates - 1)
        if self.config.langevin_steps > 0:
            self.langevin_step(inputs.view, inputs.rainy, inputs.clean, inputs.angle)

    def fit_rain(self, inputs: RainFitInputs, optimizers: List[torch.optim.Optimizer], updates: int) -> None:
        """``updates`` steps of ``optimizers`` (the state net's and the rain generator's) on the rain loss
        of view ``inputs.view`` with its clean render fixed; gradients left unset (None) after."""
        params = [p for p in self.predictor.parameters() if p.requires_grad]
        with torch.enable_grad():
            for _ in range(updates):
                rain = self.predict_rain(inputs.view, inputs.rainy.shape[0], inputs.rainy.shape[1])
                loss = cast(
                    torch.Tensor, sum(self.rain_loss_terms(inputs.rainy, inputs.clean, rain, inputs.angle).values())
                )
                for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True)):
                    p.grad = g
                for optimizer in optimizers:
                    optimizer.step()
                for p in params:
                    p.grad = None

    def langevin_step(self, view: int, rainy: torch.Tensor, clean: torch.Tensor, angle: Optional[float]) -> None:
        """E-step on the view's latent and the scene state, the rain net's loss as the energy."""
        idx = torch.tensor([view], device=self.device)

        def energy(rain: torch.Tensor) -> torch.Tensor:
            return cast(torch.Tensor, sum(self.rain_loss_terms(rainy, clean, rain[0], angle).values()))

        self.predictor.langevin(
            idx,
            self.train_camera_codes[idx],
            rainy.shape[0],
            rainy.shape[1],
            energy,
            steps=self.config.langevin_steps,
            delta=self.config.langevin_delta,
            prior=self.config.langevin_prior,
        )

    def get_metrics_dict(self, outputs, batch) -> Dict[str, torch.Tensor]:
        metrics = super().get_metrics_dict(outputs, batch)
        if self.training and "rain" in outputs:
            metrics["rain_mean"] = outputs["rain"].detach().mean()
            angle = self.rain_angle()
            if angle is not None:
                metrics["rain_angle_deg"] = torch.tensor(math.degrees(angle))
        return metrics

    # ---- optimisation ------------------------------------------------------------------------

    def get_param_groups(self) -> Dict[str, List[Parameter]]:
        groups = super().get_param_groups()
        groups[RAIN_OPTIMIZERS[0]] = list(self.predictor.state_net.parameters())
        groups[RAIN_OPTIMIZERS[1]] = list(self.predictor.generator.parameters())
        return groups
