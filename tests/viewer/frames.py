"""Comparing what the browser shows with what our backend renders, loosely (JPEG, canvas scaling)."""

from __future__ import annotations

from typing import Dict

import numpy as np
from PIL import Image

COMPARE_WIDTH = 64  # both images go down to this width: JPEG blocks and canvas resampling average out


def resized(image: np.ndarray, width: int = COMPARE_WIDTH, height: int = 0) -> np.ndarray:
    """[H, W, 3] float in [0, 1] -> [h, width, 3], h keeping the aspect unless given."""
    height = height or max(1, round(image.shape[0] * width / image.shape[1]))
    img = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0


def spread(image: np.ndarray) -> float:
    """Standard deviation of the pixel values [H, W, 3]: near 0 for a blank (one-colour) area."""
    return float(np.std(image))


def difference(a: np.ndarray, b: np.ndarray, width: int = COMPARE_WIDTH) -> Dict[str, float]:
    """Mean absolute colour difference and Pearson correlation of two images [H, W, 3] at a common small size."""
    small_a = resized(a, width)
    small_b = resized(b, width, small_a.shape[0])
    x, y = small_a.ravel() - small_a.mean(), small_b.ravel() - small_b.mean()
    corr = float((x @ y) / max(np.sqrt((x @ x) * (y @ y)), 1e-12))
    return {"mad": float(np.abs(small_a - small_b).mean()), "corr": corr}
