"""LPIPS that never downloads: computed only when AlexNet weights are already cached.

torchmetrics' LPIPS builds torchvision's AlexNet with pretrained weights, which are
fetched from the internet on first use. Offline that raises inside ``populate_modules``.
Here the metric is built on first use, only if the weights file is in the torch hub cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch


def alexnet_weights_path() -> Optional[Path]:
    """The cached torchvision AlexNet weights file, or None when absent."""
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(checkpoints.glob("alexnet-owt-*.pth")) if checkpoints.is_dir() else []
    return found[0] if found else None


class LazyLPIPS:
    """Callable LPIPS metric; ``available`` says whether it can be computed.

    Deliberately not an ``nn.Module``: its network must stay out of checkpoints so a
    model saved without LPIPS loads where LPIPS exists and vice versa.
    """

    def __init__(self) -> None:
        self._metric = None
        self._checked = False
        self.reason = ""

    @property
    def available(self) -> bool:
        if not self._checked:
            self._checked = True
            weights = alexnet_weights_path()
            if weights is None:
                self.reason = (
                    f"AlexNet weights not in the torch hub cache ({Path(torch.hub.get_dir()) / 'checkpoints'})"
                )
            else:
                try:
                    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

                    self._metric = LearnedPerceptualImagePatchSimilarity(normalize=True)
                except Exception as err:  # a corrupt cache must not break evaluation
                    self.reason = f"LPIPS could not be built: {err}"
        return self._metric is not None

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS of ``pred`` vs ``target`` ([B, 3, H, W] in [0, 1]); NaN when unavailable."""
        if not self.available or self._metric is None:
            return torch.tensor(float("nan"))
        self._metric = self._metric.to(pred.device)
        return self._metric(pred, target)
