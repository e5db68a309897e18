"""A training photo with its rain taken out: Y - R, and dark streaks filled from the clean render.

The default rain layer is R >= 0: it holds rain that brightens a photo, not streaks that darken it
(rain refracting a darker background). The signed layer (``predictor.darkening``) can hold both but
fits the scene worse where all the rain brightens (suite: derained photo -1.7 to -2.5 dB on heavy,
sparse and wide45). So the photo keeps R >= 0, and its dark streaks come from the 3D scene instead:

- ``dark_streaks``: how much a pixel is darker than the photo just across the rain direction, less
  how much it is darker than the photo along it. A thin dark line along the rain angle scores its
  depth; a dark dot, an edge or a line at another angle scores ~0 (a closing along the streak fills
  them as well as one across it).
- ``derained_photo``: Y - R, lifted towards the clean render B where it is darker than B, by at most
  that score (measured on Y - R: on Y the gap between two bright streaks is a dark line too): the photo's
  own detail stays wherever B does not say it is too dark, and the scene's own dark lines along the rain
  stay because B has them too.

Angles are radians in pixel coordinates (x right, y down), along the streaks (``rain_angle``).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

STREAK_WIDTH_PX = 5
"""Samples of the segment across the rain: fills dark streaks up to about 3 px wide."""
STREAK_LENGTH_PX = 7
"""Samples of the segment along the rain: a streak at least this long is not filled by it."""


def shifted(image: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``image`` [H, W, C] sampled at (x + dx, y + dy) for each offset [K, 2] (bilinear, borders replicated)
    -> [K, H, W, C]."""
    height, width, _ = image.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=image.dtype, device=image.device),
        torch.arange(width, dtype=image.dtype, device=image.device),
        indexing="ij",
    )
    pixels = torch.stack([xs, ys], -1)[None] + offsets[:, None, None, :]  # [K, H, W, 2]
    scale = pixels.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    grid = pixels * scale - 1.0
    source = image.permute(2, 0, 1)[None].expand(len(offsets), -1, -1, -1)
    return F.grid_sample(source, grid, align_corners=True, padding_mode="border").permute(0, 2, 3, 1)


def line_closing(image: torch.Tensor, angle: float, samples: int) -> torch.Tensor:
    """Grey closing (dilation, then erosion) of ``image`` [H, W, C] with a segment of ``samples`` pixels
    (odd) at ``angle`` -> [H, W, C] >= image: dark structures the segment does not fit in are filled."""
    if samples < 1 or samples % 2 == 0:
        raise ValueError(f"segment length must be odd and positive, got {samples}")
    half = samples // 2
    steps = torch.arange(-half, half + 1, dtype=image.dtype, device=image.device)
    offsets = steps[:, None] * image.new_tensor([math.cos(angle), math.sin(angle)])
    dilated = shifted(image, offsets).amax(0)
    return shifted(dilated, offsets).amin(0)


def dark_streaks(
    photo: torch.Tensor, angle: float, width: int = STREAK_WIDTH_PX, length: int = STREAK_LENGTH_PX
) -> torch.Tensor:
    """How deep a dark streak along ``angle`` each pixel of ``photo`` [H, W, C] is -> [H, W, C] >= 0: the
    black top-hat across the rain less the one along it."""
    across = line_closing(photo, angle + math.pi / 2, width)
    along = line_closing(photo, angle, length)
    return (across - along).clamp(min=0.0)


def derained_photo(
    photo: torch.Tensor,
    rain: torch.Tensor,
    render: Optional[torch.Tensor] = None,
    angle: Optional[float] = None,
    width: int = STREAK_WIDTH_PX,
    length: int = STREAK_LENGTH_PX,
) -> torch.Tensor:
    """A rainy photo [H, W, 3] without its rain -> [H, W, 3] in [0, 1].

    rain: the predicted rain layer [H, W, 3] (signed with a darkening layer: then Y - R is the answer and
    no ``render`` is needed). render, angle: the clean render of the same view [H, W, 3] and the rain angle;
    with both, dark streaks along the angle (``dark_streaks``' width and length) are lifted towards the
    render (module docstring).
    """
    clean = (photo - rain).clamp(0.0, 1.0)
    if render is None or angle is None:
        return clean
    # streaks measured on Y - R: between two bright streaks the photo itself has a dark gap along the rain
    lift = torch.minimum(render - clean, dark_streaks(clean, angle, width, length)).clamp(min=0.0)
    return (clean + lift).clamp(0.0, 1.0)
