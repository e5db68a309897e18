"""Held-out evaluation of a nerfstudio pipeline, trained or freshly initialised."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import torch
import yaml
from nerfstudio.utils.eval_utils import eval_setup


def load_trained_pipeline(config_path: Path):
    """The trained pipeline of an ``ns-train`` run (``.../config.yml``), in eval mode."""
    _, pipeline, _, step = eval_setup(Path(config_path), test_mode="test")
    return pipeline, step


def load_initial_pipeline(config_path: Path):
    """The same method and data as ``config_path``, at initialisation (no checkpoint)."""
    config = yaml.load(Path(config_path).read_text(), Loader=yaml.Loader)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    pipeline = config.pipeline.setup(device=device, test_mode="test")
    pipeline.eval()
    return pipeline


def heldout_metrics(pipeline, output_path: Optional[Path] = None) -> Dict[str, float]:
    """Mean image metrics (psnr, ssim, ...) over the pipeline's test split."""
    with torch.no_grad():
        return pipeline.get_average_eval_image_metrics(output_path=output_path, get_std=False)
