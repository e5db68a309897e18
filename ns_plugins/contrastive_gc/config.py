"""``contrastive-gc``: the method specifications.

- ``contrastive-gc``: the authors' defaults (16-D features, lr 0.0025, contrastive every 50 and
  spatial every 100 of 30k steps; the intervals and splatfacto's schedule follow
  ``--max-num-iterations``).
- ``contrastive-gc-small``: the CPU preset for small scenes (images of ~64-256 px, runs of a few
  hundred to a few thousand steps): both losses every step (the features share the RGB pass and
  the loss is cheap at this size), masks down to 10 px kept, full resolution from the start,
  feature lr 0.05, contrastive weight 0.1 and no spatial term (see ``small_scene_model`` and
  ``SMALL_FEATURE_LR``).
"""

from __future__ import annotations

from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.plugins.types import MethodSpecification

from ns_plugins.contrastive_gc.datamanager import SegmentsDatamanagerConfig
from ns_plugins.contrastive_gc.features import FEATURE_KEY
from ns_plugins.contrastive_gc.model import ContrastiveGCModelConfig
from ns_plugins.data.dataparser import PortableNerfstudioDataParserConfig
from ns_plugins.splat.config import portable_trainer_config, splatfacto_optimizers
from ns_plugins.splat.trainer_config import PortableTrainerConfig

FEATURE_LR = 0.0025  # authors' code, for 30k steps
SMALL_FEATURE_LR = 0.05
"""Short runs: Adam moves a feature by about lr per step, so 0.0025 x a few hundred steps cannot turn
unit-variance random features around (measured: held-out mIoU 0.15 at 0.0025, 0.66 at 0.05, 300 steps)."""


def contrastive_gc_trainer_config(
    method_name: str, model: ContrastiveGCModelConfig, feature_lr: float = FEATURE_LR, **overrides
) -> PortableTrainerConfig:
    """Splatfacto's trainer with the segments datamanager and an optimizer for the features."""
    optimizers = splatfacto_optimizers()
    optimizers[FEATURE_KEY] = {"optimizer": AdamOptimizerConfig(lr=feature_lr, eps=1e-15), "scheduler": None}
    config = portable_trainer_config(method_name, model, optimizers=optimizers, **overrides)
    config.pipeline.datamanager = SegmentsDatamanagerConfig(
        dataparser=PortableNerfstudioDataParserConfig(load_3D_points=True),
        cache_images_type="uint8",
    )
    return config


def small_scene_model() -> ContrastiveGCModelConfig:
    """The CPU preset's model: contrastive loss every step, small masks kept, no coarse-resolution phase.

    contrastive_weight 0.1: the features' own update is Adam-normalised (the weight barely changes
    it), but the loss also reaches the geometry through the shared pass; at 1.0 every-step
    contrastive gradients inflate densification (measured 22k vs 17k Gaussians at 200 steps).

    spatial_weight 0: the authors' spatial term assumes a Gaussian's farthest neighbours lie on
    other objects. Where a background surrounds the cameras (a sky dome, the walls of a room) they
    lie on the same background, so the far push splits it; the sky also drifts towards the ground
    (near pulls across the horizon, we think). Measured on the synthetic scene (seed 0, 300 steps,
    Gaussians rendering >= 1 training pixel): cosine between the mean sky and mean ground features
    0.84 at spatial weight 1, 0.72 at 0.1 (the authors' ratio to the 0.1 contrastive weight), 0.40
    at 0; sky feature consistency (norm of the mean unit feature) 0.64, 0.69, 0.78; held-out mIoU
    0.687, 0.866, 0.937.
    ``--pipeline.model.spatial-weight`` turns it back on (``contrastive-gc`` keeps the authors' 1.0).
    """
    return ContrastiveGCModelConfig(
        contrastive_every=1,
        spatial_every=1,
        min_mask_pixels=10,
        num_downscales=0,
        contrastive_weight=0.1,
        spatial_weight=0.0,
    )


contrastive_gc = MethodSpecification(
    config=contrastive_gc_trainer_config("contrastive-gc", ContrastiveGCModelConfig()),
    description=(
        "Contrastive Gaussian Clustering: 3D segmentation from inconsistent 2D masks (<data>/segments/<stem>.png)."
    ),
)

contrastive_gc_small = MethodSpecification(
    config=contrastive_gc_trainer_config(
        "contrastive-gc-small", small_scene_model(), feature_lr=SMALL_FEATURE_LR, max_num_iterations=1500
    ),
    description=(
        "contrastive-gc preset for small scenes on a CPU (contrastive loss every step, small masks kept, no "
        "spatial term)."
    ),
)
