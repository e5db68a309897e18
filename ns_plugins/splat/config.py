"""``splatfacto-portable``: nerfstudio's splatfacto through our backend and base model.

The baseline every method's benchmark compares against, and a usable method on its own
(any device, offline). Optimizers and learning rates are splatfacto's.
"""

from __future__ import annotations

from typing import Any, Dict

from nerfstudio.configs.base_config import MachineConfig, ViewerConfig
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig
from nerfstudio.pipelines.base_pipeline import VanillaPipelineConfig
from nerfstudio.plugins.types import MethodSpecification

from ns_plugins.data.datamanager import PortableDatamanagerConfig
from ns_plugins.data.dataparser import PortableNerfstudioDataParserConfig
from ns_plugins.splat.model import PortableSplatModelConfig
from ns_plugins.splat.trainer_config import PortableTrainerConfig, default_device_type


def splatfacto_optimizers() -> Dict[str, Dict]:
    """Splatfacto's optimizers (nerfstudio 1.1.5 method_configs), one entry per parameter group."""

    def adam(lr: float) -> AdamOptimizerConfig:
        return AdamOptimizerConfig(lr=lr, eps=1e-15)

    return {
        "means": {
            "optimizer": adam(1.6e-4),
            "scheduler": ExponentialDecaySchedulerConfig(lr_final=1.6e-6, max_steps=30000),
        },
        "features_dc": {"optimizer": adam(0.0025), "scheduler": None},
        "features_rest": {"optimizer": adam(0.0025 / 20), "scheduler": None},
        "opacities": {"optimizer": adam(0.05), "scheduler": None},
        "scales": {"optimizer": adam(0.005), "scheduler": None},
        "quats": {"optimizer": adam(0.001), "scheduler": None},
        "camera_opt": {
            "optimizer": adam(1e-4),
            "scheduler": ExponentialDecaySchedulerConfig(
                lr_final=5e-7, max_steps=30000, warmup_steps=1000, lr_pre_warmup=0
            ),
        },
        "bilateral_grid": {
            "optimizer": adam(2e-3),
            "scheduler": ExponentialDecaySchedulerConfig(
                lr_final=1e-4, max_steps=30000, warmup_steps=1000, lr_pre_warmup=0
            ),
        },
    }


def portable_trainer_config(method_name: str, model: PortableSplatModelConfig, **overrides) -> PortableTrainerConfig:
    """A splatfacto-style trainer config for ``model``; methods pass their own model config and extras."""
    settings: Dict[str, Any] = dict(
        method_name=method_name,
        steps_per_eval_image=100,
        steps_per_eval_batch=0,
        steps_per_save=2000,
        steps_per_eval_all_images=1000,
        max_num_iterations=30000,
        mixed_precision=False,
        machine=MachineConfig(device_type=default_device_type()),
        pipeline=VanillaPipelineConfig(
            datamanager=PortableDatamanagerConfig(
                dataparser=PortableNerfstudioDataParserConfig(load_3D_points=True),
                cache_images_type="uint8",
            ),
            model=model,
        ),
        optimizers=splatfacto_optimizers(),
        viewer=ViewerConfig(num_rays_per_chunk=1 << 15),
        vis="viewer",
    )
    settings.update(overrides)
    return PortableTrainerConfig(**settings)


splatfacto_portable = MethodSpecification(
    config=portable_trainer_config("splatfacto-portable", PortableSplatModelConfig()),
    description=(
        "Splatfacto on any device (gsplat CUDA or a pure-PyTorch rasterizer), offline-safe; the ns-plugins baseline."
    ),
)
