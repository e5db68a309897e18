"""``learn2talk``: the speech-driven Gaussian avatar's method specifications.

- ``learn2talk``: splatfacto's 30k-step schedule (scaled to ``--max-num-iterations``) with the
  Gaussians bound to the tracked mesh, trained on ``learn2talk-data``.
- ``learn2talk-small``: the CPU preset for small captures (images of ~32-128 px, runs of a few
  hundred to a few thousand steps): full resolution from the start, SH degree 1 (the key light
  is fixed, so colour barely depends on the view), two Gaussians per triangle.
"""

from __future__ import annotations

from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig
from nerfstudio.plugins.types import MethodSpecification

from ns_plugins.data.datamanager import PortableDatamanagerConfig
from ns_plugins.learn2talk.avatar.dataparser import AvatarDataParserConfig
from ns_plugins.learn2talk.avatar.model import BINDING_KEY, AvatarModelConfig
from ns_plugins.splat.config import portable_trainer_config, splatfacto_optimizers
from ns_plugins.splat.trainer_config import PortableTrainerConfig

LOCAL_MEANS_LR = 5e-3
"""Local means are in units of their triangle's size (~1/20 of the head), so splatfacto's world
lr (1.6e-4 for a unit scene) becomes about 20x larger; decayed 100x over the run as splatfacto's."""


def avatar_trainer_config(method_name: str, model: AvatarModelConfig, **overrides) -> PortableTrainerConfig:
    """Splatfacto's trainer on learn2talk-data, with a learning-rate-0 optimizer carrying the bindings."""
    optimizers = splatfacto_optimizers()
    optimizers["means"] = {
        "optimizer": AdamOptimizerConfig(lr=LOCAL_MEANS_LR, eps=1e-15),
        "scheduler": ExponentialDecaySchedulerConfig(lr_final=LOCAL_MEANS_LR / 100, max_steps=30000),
    }
    # the strategy resizes every gauss_param through its optimizer; lr 0 keeps the ids fixed
    optimizers[BINDING_KEY] = {"optimizer": AdamOptimizerConfig(lr=0.0, eps=1e-15), "scheduler": None}
    config = portable_trainer_config(method_name, model, optimizers=optimizers, **overrides)
    config.pipeline.datamanager = PortableDatamanagerConfig(
        dataparser=AvatarDataParserConfig(), cache_images_type="uint8"
    )
    return config


def small_avatar_model() -> AvatarModelConfig:
    """The CPU preset's model: no coarse-resolution phase, SH degree 1, two Gaussians per triangle."""
    return AvatarModelConfig(num_downscales=0, sh_degree=1, gaussians_per_face=2)


learn2talk = MethodSpecification(
    config=avatar_trainer_config("learn2talk", AvatarModelConfig()),
    description=(
        "Learn2Talk's Gaussian avatar: Gaussians bound to a tracked head mesh (learn2talk-data), driven by "
        "ns-l2t animate."
    ),
)

learn2talk_small = MethodSpecification(
    config=avatar_trainer_config("learn2talk-small", small_avatar_model(), max_num_iterations=2000),
    description="learn2talk avatar preset for small captures on a CPU.",
)
