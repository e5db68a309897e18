"""Full-image datamanager that works without CUDA."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Type

import torch
from nerfstudio.data.datamanagers.full_images_datamanager import FullImageDatamanager, FullImageDatamanagerConfig


@dataclass
class PortableDatamanagerConfig(FullImageDatamanagerConfig):
    """nerfstudio's FullImageDatamanagerConfig; CPU caching never pins memory without CUDA."""

    _target: Type = field(default_factory=lambda: PortableDatamanager)


class PortableDatamanager(FullImageDatamanager):
    """FullImageDatamanager whose ``cpu`` image cache skips ``pin_memory`` when CUDA is absent."""

    config: PortableDatamanagerConfig

    def _load_images(self, split: Literal["train", "eval"], cache_images_device: Literal["cpu", "gpu"]) -> List[Dict]:
        if cache_images_device == "cpu" and not torch.cuda.is_available():
            # pin_memory() needs CUDA; "gpu" caching moves images to self.device, which is the CPU here
            cache_images_device = "gpu"
        return super()._load_images(split, cache_images_device)
