"""Base splat model: nerfstudio's SplatfactoModel on any device, offline, through our backend.

Every method of the package subclasses :class:`PortableSplatModel`. Compared with
splatfacto it (1) never calls ``.cuda()``, (2) builds LPIPS lazily and never downloads,
(3) rasterizes through :func:`ns_plugins.splat.backend.rasterize` (gsplat on CUDA, the torch
backend elsewhere), and (4) exposes two hooks the methods need:

- :meth:`render_gaussians` renders C virtual cameras in ONE rasterize call, and per-Gaussian
  extra channels ``[N, E]`` in the same pass as RGB;
- :meth:`camera_to_worlds` maps the batch camera to the ``[C, 3, 4]`` poses to render
  (deblurring methods return the sub-frame poses of the exposure).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Literal, Optional, Tuple, Type, Union
from unittest import mock

import torch
import tyro
from gsplat.strategy.ops import remove
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation
from nerfstudio.models.splatfacto import RGB2SH, SplatfactoModel, SplatfactoModelConfig
from nerfstudio.utils.rich_utils import CONSOLE

from ns_plugins.data.errors import DataError
from ns_plugins.splat.backend import rasterize
from ns_plugins.splat.growth_budget import BudgetStrategy, resolve_max_gaussians
from ns_plugins.splat.lpips import LazyLPIPS
from ns_plugins.splat.near_camera import near_cameras, near_depths
from ns_plugins.splat.schedule import SCHEDULE_FIELDS, describe_schedule, scaled_schedule, schedule_length
from ns_plugins.splat.sh import eval_sh_colors
from ns_plugins.splat.trainer_config import save_config_as_used


@dataclass
class RenderResult:
    """What one batched rasterize call produced (C cameras, image H x W)."""

    rgb: torch.Tensor
    """[C, H, W, 3] colour without background."""
    alpha: torch.Tensor
    """[C, H, W, 1] accumulated opacity."""
    extra: Optional[torch.Tensor]
    """[C, H, W, E] alpha-blended extra channels, or None."""
    depth: Optional[torch.Tensor]
    """[C, H, W, 1] expected depth, or None."""
    info: Dict
    """gsplat's meta (radii, means2d, ...) used by the densification strategy."""


def viewmats_from_camera_to_worlds(c2w: torch.Tensor) -> torch.Tensor:
    """World-to-camera matrices in gsplat's convention (x right, y down, z forward).

    Args:
        c2w: [C, 3, 4] or [C, 4, 4] nerfstudio camera-to-world (x right, y up, z back).

    Returns:
        [C, 4, 4] view matrices.
    """
    flip = torch.tensor([1.0, -1.0, -1.0], device=c2w.device, dtype=c2w.dtype)
    rot = c2w[:, :3, :3] * flip  # flip camera y and z axes
    rot_inv = rot.transpose(1, 2)
    trans_inv = -rot_inv @ c2w[:, :3, 3:4]
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], device=c2w.device, dtype=c2w.dtype).expand(c2w.shape[0], 1, 4)
    return torch.cat([torch.cat([rot_inv, trans_inv], dim=2), bottom], dim=1)


_LPIPS_PATCH_LOCK = threading.Lock()
"""The patch below is on a module attribute, seen by every thread: models built in two threads at once (a
benchmark scoring scenes side by side) would otherwise end it under each other and download AlexNet."""


@contextlib.contextmanager
def _lpips_built_lazily() -> Iterator[None]:
    """Make splatfacto's ``populate_modules`` build :class:`LazyLPIPS` instead of downloading AlexNet."""
    with (
        _LPIPS_PATCH_LOCK,
        mock.patch("torchmetrics.image.lpip.LearnedPerceptualImagePatchSimilarity", lambda **_: LazyLPIPS()),
    ):
        yield


@dataclass
class PortableSplatModelConfig(SplatfactoModelConfig):
    """Splatfacto on any device, offline, with a schedule that can follow the run length."""

    _target: Type = field(default_factory=lambda: PortableSplatModel)
    rasterizer_backend: Literal["auto", "gsplat", "torch"] = "auto"
    """Rasterizer: gsplat's CUDA kernels, the pure-PyTorch backend, or auto (gsplat on CUDA tensors)."""
    warmup_length: Optional[int] = None  # type: ignore[assignment]
    """Steps before densification starts. None: derived from the run length (splatfacto: 500 of 30k steps)."""
    refine_every: Optional[int] = None  # type: ignore[assignment]
    """Steps between densification rounds. None: derived (splatfacto: 100 of 30k steps, at least 10)."""
    resolution_schedule: Optional[int] = None  # type: ignore[assignment]
    """Steps between doublings of the training resolution. None: derived (splatfacto: 3000 of 30k steps)."""
    reset_alpha_every: Optional[int] = None  # type: ignore[assignment]
    """Densification rounds between opacity resets. None: derived so that several rounds fit between
    resets (splatfacto: 30)."""
    sh_degree_interval: Optional[int] = None  # type: ignore[assignment]
    """Steps between SH degree increases. None: derived (splatfacto: 1000 of 30k steps)."""
    stop_split_at: Optional[int] = None  # type: ignore[assignment]
    """Step at which densification stops. None: derived (splatfacto: 15000 of 30k steps)."""
    stop_screen_size_at: Optional[int] = None  # type: ignore[assignment]
    """Step at which screen-size splitting and culling stop. None: derived (splatfacto: 4000 of 30k steps)."""
    schedule_steps: Optional[int] = None
    """Derive the unset step-schedule fields (and the methods' own step schedules) for a run of this many
    steps instead of ``--max-num-iterations`` (30000: splatfacto's numbers)."""
    run_steps: tyro.conf.Suppress[Optional[int]] = None
    """The run's length (``--max-num-iterations``), recorded by ``PortableTrainerConfig``; not an option."""
    min_split_radius_px: float = 4.0
    """Screen-size splitting (before ``stop_screen_size_at``) needs a radius of at least this many pixels
    as well as ``split_screen_size`` of the rendered image (``growth_budget.screen_size_thresholds``)."""
    min_cull_radius_px: float = 12.0
    """Likewise for screen-size culling and ``cull_screen_size``."""
    max_gaussians: Optional[int] = None
    """Densification stops growing at this many Gaussians, keeping the highest-gradient candidates
    (``growth_budget.BudgetStrategy``). None: ``cpu_max_gaussians`` when training on a CPU, no cap on a GPU."""
    cpu_max_gaussians: Optional[int] = 60_000
    """The cap used on a CPU when ``max_gaussians`` is unset, so that the step time stays bounded (step time
    and count over a real-capture run: benchmarks/RESULTS.md, "Bounded growth"). None: no cap on a CPU either."""
    near_camera_prune: float = 0.5
    """Remove the Gaussians closer to a training camera's centre than this share of its near depth (a low
    quantile of the depths of the seed points in its view), after every refinement and at the last step:
    floaters at the lens that a held-out view looks through (``ns_plugins/splat/near_camera.py``). 0: off;
    also off without seed points."""
    background_noise: bool = False
    """With ``background_color`` random: in training, a random colour per pixel instead of one per image
    (evaluation keeps splatfacto's fixed colour). A gap between the Gaussians then shows noise, which the
    D-SSIM term punishes as well as the L1, instead of one flat colour that can stand in for dark detail on a
    bright background (rainyscape: rain that darkens the sky was fitted by such gaps; benchmarks/RESULTS.md)."""


class PortableSplatModel(SplatfactoModel):
    """SplatfactoModel that runs on CPU or GPU and offline. See the module docstring."""

    config: PortableSplatModelConfig

    @property
    def total_steps(self) -> int:
        """The run length the step schedules follow (``schedule_steps``, else the run's, else 30000)."""
        return schedule_length(self.config.schedule_steps, self.config.run_steps)

    def derive_schedule(self) -> Dict[str, int]:
        """Schedule field -> value used: the config's where set, else derived from :attr:`total_steps`.
        Methods with run-length-derived fields of their own extend it (call super)."""
        given = {name: getattr(self.config, name) for name in SCHEDULE_FIELDS}
        return scaled_schedule(self.total_steps, self.num_train_data, given)

    def populate_modules(self) -> None:
        if self.config.background_noise and self.config.background_color != "random":
            raise DataError(
                "--pipeline.model.background-noise",
                f"needs --pipeline.model.background-color random, got {self.config.background_color}"
                " (pass --pipeline.model.background-noise False to keep that colour)",
            )
        schedule = self.derive_schedule()
        given = {name: getattr(self.config, name) for name in schedule}
        # filled on a copy: the caller's config (a registered default, a test's) keeps its Nones
        self.config = copy.copy(self.config)
        for name, value in schedule.items():
            setattr(self.config, name, value)
        CONSOLE.print(describe_schedule(schedule, given, self.total_steps), soft_wrap=True, markup=False)
        seed_rgb = None
        if self.seed_points is not None and self.seed_points[1].shape[0] > 0:
            # splatfacto moves seed colours with .cuda(): hand it none, set them below
            seed_rgb = self.seed_points[1]
            self.seed_points = (self.seed_points[0], seed_rgb[:0])
        with _lpips_built_lazily():
            super().populate_modules()
        self._use_growth_budget()
        if seed_rgb is not None:
            self.seed_points = (self.seed_points[0], seed_rgb)
            self._set_colours_from_seed(seed_rgb)

    def _use_growth_budget(self) -> None:
        """Swap splatfacto's DefaultStrategy for the same strategy with the Gaussian budget in force."""
        device = self.kwargs.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        budget = resolve_max_gaussians(
            self.config.max_gaussians, self.config.cpu_max_gaussians, torch.device(device).type
        )
        self.strategy = BudgetStrategy.from_default(
            self.strategy, budget, self.config.min_split_radius_px, self.config.min_cull_radius_px
        )
        CONSOLE.print(f"Densification budget: {'unbounded' if budget is None else f'{budget} Gaussians'}")

    def get_training_callbacks(
        self, training_callback_attributes: TrainingCallbackAttributes
    ) -> List[TrainingCallback]:
        """Splatfacto's callbacks; also rewrites the run's config.yml with the schedule as used.

        ``ns-train`` saves config.yml before the model exists, i.e. with the unset schedule fields
        still None; here they are resolved, so the file records what the run uses."""
        trainer = training_callback_attributes.trainer
        if trainer is not None:
            save_config_as_used(trainer.config, self.config)
        callbacks = super().get_training_callbacks(training_callback_attributes)
        pipeline = training_callback_attributes.pipeline
        if pipeline is not None and self.config.near_camera_prune > 0:
            balls = self.near_camera_balls(pipeline.datamanager.train_dataset.cameras)  # type: ignore[attr-defined]
            if balls is not None:
                callbacks.append(
                    TrainingCallback(
                        [TrainingCallbackLocation.AFTER_TRAIN_ITERATION], self.prune_near_cameras, args=list(balls)
                    )
                )
        return callbacks

    def near_camera_balls(self, cameras: Cameras) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        """(centres [M, 3], radii [M]) of the training cameras' no-Gaussian balls, or None without seed points."""
        if self.seed_points is None or self.seed_points[0].shape[0] == 0:
            CONSOLE.print("Near-camera pruning off: the run has no seed points to tell where the scene starts")
            return None
        depths = near_depths(self.seed_points[0].float().to(self.device), cameras.to(self.device))
        radii = self.config.near_camera_prune * depths
        CONSOLE.print(
            f"Near-camera pruning: Gaussians within {float(radii.min()):.3g}-{float(radii.max()):.3g} of a "
            f"training camera's centre are removed ({self.config.near_camera_prune} of its near depth)"
        )
        return cameras.camera_to_worlds[:, :3, 3].to(self.device), radii

    @torch.no_grad()
    def prune_near_cameras(self, centres: torch.Tensor, radii: torch.Tensor, step: int) -> None:
        """After each refinement (and at the last step), remove the Gaussians in the cameras' balls.

        Args:
            centres: [M, 3] training camera centres.
            radii: [M] ball radii.
            step: the trainer's step.
        """
        refine_every, warmup = self.config.refine_every, self.config.warmup_length
        assert refine_every is not None and warmup is not None, "populate_modules fills the schedule fields"
        last = self.config.run_steps is not None and step == self.config.run_steps - 1
        if step < warmup or (step % refine_every != 0 and not last):
            return
        mask = near_cameras(self.means, centres, radii)
        if bool(mask.any()) and int(mask.sum()) < mask.shape[0]:
            remove(params=self.gauss_params, optimizers=self.optimizers, state=self.strategy_state, mask=mask)

    def _set_colours_from_seed(self, rgb_uint8: torch.Tensor) -> None:
        """Initialise SH (or sigmoid colour) coefficients from seed colours [N, 3] uint8."""
        rgb = rgb_uint8.float() / 255.0
        dc = RGB2SH(rgb) if self.config.sh_degree > 0 else torch.logit(rgb, eps=1e-10)
        self.gauss_params["features_dc"] = torch.nn.Parameter(dc)
        self.gauss_params["features_rest"] = torch.nn.Parameter(torch.zeros_like(self.features_rest))

    # ---- checkpoints -----------------------------------------------------------------------

    def update_to_step(self, step: int) -> None:
        """Called with the checkpoint's step before its state is loaded: the schedule continues from it."""
        self.step = step

    def load_state_dict(self, state_dict, **kwargs):  # type: ignore[override]
        """Load a checkpoint, resizing each Gaussian parameter IN PLACE to the saved count.

        splatfacto replaces every ``gauss_params`` entry with a new Parameter (optimizers built before
        keep updating the old ones) and sets ``step = 30000``; here the Parameters (and their
        ``requires_grad``) stay the same objects and ``step`` stays what ``update_to_step`` set.
        """
        if "means" in state_dict:  # splatfacto's pre-ParameterDict checkpoints
            for name in ("means", "scales", "quats", "features_dc", "features_rest", "opacities"):
                state_dict[f"gauss_params.{name}"] = state_dict[name]
        count = state_dict["gauss_params.means"].shape[0]
        for param in self.gauss_params.values():
            param.data = param.data.new_zeros((count,) + tuple(param.shape[1:]))
        return torch.nn.Module.load_state_dict(self, state_dict, **kwargs)

    # ---- rendering -------------------------------------------------------------------------

    def camera_to_worlds(self, camera: Cameras) -> torch.Tensor:
        """Poses to render for ``camera`` (one image): [C, 3, 4]. Camera optimizer applied in training."""
        if self.training:
            assert camera.shape[0] == 1, "Only one camera at a time"
            return self.camera_optimizer.apply_to_camera(camera)
        return camera.camera_to_worlds

    def render_gaussians(
        self,
        viewmats: torch.Tensor,
        Ks: torch.Tensor,
        width: int,
        height: int,
        *,
        extra_features: Optional[torch.Tensor] = None,
        with_depth: bool = False,
        gaussian_ids: Optional[torch.Tensor] = None,
    ) -> RenderResult:
        """Render C cameras of the current Gaussians in one rasterize call.

        Args:
            viewmats: [C, 4, 4] world-to-camera.
            Ks: [C, 3, 3] intrinsics.
            width, height: image size in pixels.
            extra_features: [N, E] per-Gaussian channels alpha-blended in the same pass as RGB.
            with_depth: also render expected depth.
            gaussian_ids: [M] bool or index selection of Gaussians to render (cropping).

        Returns:
            RenderResult with [C, H, W, *] images and gsplat's meta.
        """
        sel = slice(None) if gaussian_ids is None else gaussian_ids
        means = self.means[sel]
        coeffs = torch.cat((self.features_dc[:, None, :], self.features_rest), dim=1)[sel]
        if self.config.sh_degree > 0:
            interval = self.config.sh_degree_interval
            assert interval is not None, "populate_modules fills the schedule fields"
            sh_degree: Optional[int] = min(self.step // interval, self.config.sh_degree)
            colors = coeffs
        else:
            sh_degree, colors = None, torch.sigmoid(coeffs[:, 0, :])
        if extra_features is not None:
            # SH must become RGB before extra channels can share the pass
            if sh_degree is not None:
                colors = eval_sh_colors(sh_degree, means, coeffs, viewmats)
                sh_degree = None
            colors = torch.cat(
                [colors.expand(viewmats.shape[0], -1, -1), extra_features[sel].expand(viewmats.shape[0], -1, -1)], -1
            )
        render, alpha, info = rasterize(
            means=means,
            quats=self.quats[sel],
            scales=torch.exp(self.scales[sel]),
            opacities=torch.sigmoid(self.opacities[sel]).squeeze(-1),
            colors=colors,
            viewmats=viewmats,
            Ks=Ks,
            width=width,
            height=height,
            packed=False,
            near_plane=0.01,
            far_plane=1e10,
            render_mode="RGB+ED" if with_depth else "RGB",
            sh_degree=sh_degree,
            sparse_grad=False,
            absgrad=self.strategy.absgrad,
            rasterize_mode=self.config.rasterize_mode,
            # "auto" defers to NS_PLUGINS_BACKEND, then to the device
            backend=None if self.config.rasterizer_backend == "auto" else self.config.rasterizer_backend,
        )
        num_extra = 0 if extra_features is None else extra_features.shape[-1]
        return RenderResult(
            rgb=render[..., :3],
            alpha=alpha,
            extra=render[..., 3 : 3 + num_extra] if num_extra else None,
            depth=render[..., 3 + num_extra :] if with_depth else None,
            info=info,
        )

    def extra_features(self) -> Optional[torch.Tensor]:
        """Per-Gaussian channels [N, E] to render with RGB (returned as ``outputs["extra"]``); none here."""
        return None

    def extra_ply_columns(self) -> Dict[str, torch.Tensor]:
        """Per-Gaussian values {PLY column name: [N]} that ``ns-plugins-export`` writes after splatfacto's columns,
        row i for Gaussian i (see ``ns_plugins/splat/export.py``); none here."""
        return {}

    def get_outputs(self, camera: Cameras) -> Dict[str, Union[torch.Tensor, List]]:
        if not isinstance(camera, Cameras):
            return {}
        c2w = self.camera_to_worlds(camera)

        crop_ids = None
        if self.crop_box is not None and not self.training:
            crop_ids = self.crop_box.within(self.means).squeeze()
            if crop_ids.sum() == 0:
                return self.get_empty_outputs(
                    int(camera.width.item()), int(camera.height.item()), self.background_color
                )

        scale = self._get_downscale_factor()
        camera.rescale_output_resolution(1 / scale)
        Ks = camera.get_intrinsics_matrices().to(self.device)
        W, H = int(camera.width.item()), int(camera.height.item())
        camera.rescale_output_resolution(scale)
        Ks = Ks.reshape(-1, 3, 3).expand(c2w.shape[0], 3, 3)

        with_depth = self.config.output_depth_during_training or not self.training
        result = self.render_gaussians(
            viewmats_from_camera_to_worlds(c2w),
            Ks,
            W,
            H,
            extra_features=self.extra_features(),
            with_depth=with_depth,
            gaussian_ids=crop_ids,
        )
        self.info = result.info
        if self.training:
            self.strategy.step_pre_backward(
                self.gauss_params, self.optimizers, self.strategy_state, self.step, self.info
            )
        return self.outputs_from_render(result, camera)

    def outputs_from_render(self, result: RenderResult, camera: Cameras) -> Dict[str, Union[torch.Tensor, List]]:
        """nerfstudio outputs (``rgb``, ``depth``, ``accumulation``, ``background``, ``extra``); C=1 squeezed."""
        background = self._get_background_color()
        if self.training and self.config.background_noise:
            background = torch.rand_like(result.rgb[0])  # [H, W, 3]: a colour per pixel
        rgb = torch.clamp(result.rgb + (1 - result.alpha) * background, 0.0, 1.0)
        if self.config.use_bilateral_grid and self.training and camera.metadata and "cam_idx" in camera.metadata:
            rgb = self._apply_bilateral_grid(rgb, camera.metadata["cam_idx"], rgb.shape[1], rgb.shape[2])
        squeeze = (lambda t: t.squeeze(0)) if rgb.shape[0] == 1 else (lambda t: t)
        depth = None
        if result.depth is not None:
            depth = squeeze(torch.where(result.alpha > 0, result.depth, result.depth.detach().max()))
        if not self.training:
            background = background.expand(rgb.shape[1], rgb.shape[2], 3)
        outputs: Dict[str, Union[torch.Tensor, List]] = {
            "rgb": squeeze(rgb),
            "depth": depth,  # type: ignore[dict-item]
            "accumulation": squeeze(result.alpha),
            "background": background,
        }
        if result.extra is not None:
            outputs["extra"] = squeeze(result.extra)
        return outputs

    # ---- evaluation ------------------------------------------------------------------------

    def get_image_metrics_and_images(
        self, outputs: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor]
    ) -> Tuple[Dict[str, float], Dict[str, torch.Tensor]]:
        """Splatfacto's PSNR/SSIM; LPIPS only where its weights are cached (never downloaded)."""
        metrics, images = super().get_image_metrics_and_images(outputs, batch)
        if not self.lpips.available:
            metrics.pop("lpips", None)
            metrics.pop("cc_lpips", None)
            if not getattr(self, "_lpips_warned", False):
                CONSOLE.print(f"[yellow]LPIPS unavailable: {self.lpips.reason}")
                self._lpips_warned = True
        return metrics, images
