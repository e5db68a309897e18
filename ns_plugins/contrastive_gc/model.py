"""``contrastive-gc`` model: splatfacto plus a per-Gaussian segmentation feature.

The features are a Gaussian parameter (``gauss_params["seg_features"]``) with its own optimizer,
so gsplat's densification splits, duplicates and prunes them with the others, checkpoints carry
them and splatfacto's ``load_state_dict`` resizes them. They are rendered as extra channels in
the same rasterize pass as RGB on the steps that need them (contrastive steps, and always at
inference), and written as ``seg_feature_*`` PLY columns through the base model's
``extra_ply_columns`` hook (``ns-plugins-export``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Type

import torch
from torch.nn import Parameter

from ns_plugins.contrastive_gc.contrastive_loss import contrastive_clustering_loss, raw_id_cross_entropy
from ns_plugins.contrastive_gc.datamanager import SEGMENTS_KEY
from ns_plugins.contrastive_gc.features import FEATURE_KEY, PLY_PREFIX, initial_features, pca_basis, pca_colors
from ns_plugins.contrastive_gc.spatial_loss import spatial_regularization
from ns_plugins.contrastive_gc.viewer import SegmentationControls
from ns_plugins.splat.model import PortableSplatModel, PortableSplatModelConfig
from ns_plugins.splat.schedule import scaled_interval

AUTHORS_CONTRASTIVE_EVERY = 50
AUTHORS_SPATIAL_EVERY = 100
"""The authors' loss intervals, in steps of a 30k-step run."""


@dataclass
class ContrastiveGCModelConfig(PortableSplatModelConfig):
    """Splatfacto + segmentation features; defaults are the authors' (30k steps, scaled to the run)."""

    _target: Type = field(default_factory=lambda: ContrastiveGCModel)
    feature_dim: int = 16
    """Channels of the per-Gaussian segmentation feature."""
    segmentation_loss: Literal["contrastive", "raw-id-cross-entropy"] = "contrastive"
    """``contrastive`` (the method) or ``raw-id-cross-entropy`` (naive baseline: per-view ids taken as
    consistent class labels, features used as class logits; needs feature_dim > the largest id)."""
    contrastive_weight: float = 1.0
    """Weight of the contrastive clustering loss."""
    min_mask_pixels: int = 100
    """Masks with fewer pixels (at full resolution) are ignored."""
    contrastive_every: Optional[int] = None
    """Contrastive loss every this many steps. None: derived from the run length (authors: 50 of 30k steps)."""
    spatial_every: Optional[int] = None
    """Spatial regularisation every this many steps. None: derived (authors: 100 of 30k steps)."""
    spatial_weight: float = 1.0
    """Multiplies the spatial term (whose own weights are 0.05 near / 0.15 far)."""
    spatial_samples: int = 1000
    """Gaussians sampled for the spatial term."""
    spatial_k_near: int = 2
    spatial_k_far: int = 5


class ContrastiveGCModel(PortableSplatModel):
    """See the module docstring."""

    config: ContrastiveGCModelConfig

    def populate_modules(self) -> None:
        super().populate_modules()
        num = self.means.shape[0]
        self.gauss_params[FEATURE_KEY] = Parameter(initial_features(num, self.config.feature_dim))
        self.segmentation_controls = SegmentationControls(self)

    # ---- parameters --------------------------------------------------------------------------

    @property
    def seg_features(self) -> torch.Tensor:
        """[N, E] per-Gaussian segmentation features."""
        return self.gauss_params[FEATURE_KEY]

    def extra_ply_columns(self) -> Dict[str, torch.Tensor]:
        """The features as PLY columns ``seg_feature_0 .. seg_feature_{E-1}`` (written by ``ns-plugins-export``)."""
        return {f"{PLY_PREFIX}{i}": self.seg_features[:, i] for i in range(self.seg_features.shape[1])}

    def get_gaussian_param_groups(self) -> Dict[str, List[Parameter]]:
        groups = super().get_gaussian_param_groups()
        groups[FEATURE_KEY] = [self.gauss_params[FEATURE_KEY]]
        return groups

    # ---- schedule ----------------------------------------------------------------------------

    def derive_schedule(self) -> Dict[str, int]:
        schedule = super().derive_schedule()
        for name, authors in (
            ("contrastive_every", AUTHORS_CONTRASTIVE_EVERY),
            ("spatial_every", AUTHORS_SPATIAL_EVERY),
        ):
            value = getattr(self.config, name)
            schedule[name] = value if value is not None else scaled_interval(authors, self.total_steps)
        return schedule

    def contrastive_step(self, step: int) -> bool:
        return step % self.config.contrastive_every == 0  # type: ignore[operator]  # set by derive_schedule

    def spatial_step(self, step: int) -> bool:
        return step % self.config.spatial_every == 0  # type: ignore[operator]

    def extra_features(self) -> Optional[torch.Tensor]:
        """Features ride along with RGB on contrastive steps and at inference; otherwise RGB renders alone."""
        if self.training and not self.contrastive_step(self.step):
            return None
        return self.seg_features

    # ---- losses ------------------------------------------------------------------------------

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, torch.Tensor]:
        loss_dict = super().get_loss_dict(outputs, batch, metrics_dict)
        if not self.training:
            return loss_dict
        if "extra" in outputs and SEGMENTS_KEY in batch:
            features = outputs["extra"]  # [H, W, E] at the training resolution
            segments = resize_nearest(batch[SEGMENTS_KEY], features.shape[0], features.shape[1])
            if self.config.segmentation_loss == "contrastive":
                d = self._get_downscale_factor()
                loss = contrastive_clustering_loss(features, segments, self.config.min_mask_pixels / d**2)
            else:
                loss = raw_id_cross_entropy(features, segments)
            loss_dict["contrastive_loss"] = self.config.contrastive_weight * loss
        if (
            self.config.segmentation_loss == "contrastive"
            and self.config.spatial_weight > 0
            and self.spatial_step(self.step)
        ):
            loss_dict["spatial_loss"] = self.config.spatial_weight * spatial_regularization(
                self.means,
                self.seg_features,
                self.config.spatial_samples,
                self.config.spatial_k_near,
                self.config.spatial_k_far,
            )
        return loss_dict

    # ---- inference ---------------------------------------------------------------------------

    @torch.no_grad()
    def get_outputs_for_camera(self, camera, obb_box=None) -> Dict[str, torch.Tensor]:
        """RGB, depth, accumulation plus ``seg_pca`` (features along their 3 principal directions) and
        ``seg_features`` removed (16 channels are not an image); the viewer adds its own outputs."""
        outputs = super().get_outputs_for_camera(camera, obb_box)
        features = outputs.pop("extra", None)
        if features is not None and features.dim() == 3:
            mean, basis = pca_basis(self.seg_features)
            outputs["seg_pca"] = pca_colors(features, mean, basis)
            outputs.update(self.segmentation_controls.outputs(features, outputs["rgb"]))
        return outputs

    def render_features(self, camera) -> Dict[str, torch.Tensor]:
        """Features [H, W, E] and accumulation [H, W, 1] of one camera at full resolution (no grad)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                outputs = PortableSplatModel.get_outputs_for_camera(self, camera)
        finally:
            self.train(was_training)
        return {"features": outputs["extra"], "accumulation": outputs["accumulation"], "rgb": outputs["rgb"]}


def resize_nearest(segments: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Ids [h, w] -> [height, width] by nearest neighbour (the training resolution schedule)."""
    if tuple(segments.shape) == (height, width):
        return segments
    resized = torch.nn.functional.interpolate(segments[None, None].float(), size=(height, width), mode="nearest")
    return resized[0, 0].to(segments.dtype)
