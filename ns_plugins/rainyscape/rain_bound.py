"""How much rain a rainy photo can hold at each pixel: morphological top-hats of Y.

A streak is thinner than the scene's own structures, so it is what a grey opening (erosion then dilation
with a ``size`` x ``size`` square, a share of the image width: streaks of real rain are a few pixels wide
at the resolutions captures are trained at, a scene's smooth regions much wider) removes from the photo:
the white top-hat Y - open(Y) bounds the rain that brightens a pixel, the black top-hat close(Y) - Y the
rain that darkens it. Where the photo is smooth (a clear sky) both are ~0: no rain can be there, whatever
the rain layer says. The Gaussians' loss uses the rain layer clamped to these bounds (``clamp_rain``), so
a dark floater or a hole in B cannot be explained away by a bright patch of R in every view that sees it.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F


def _running_max(x: torch.Tensor, size: int) -> torch.Tensor:
    """Maximum over every window of ``size`` consecutive entries along the last axis: [..., L] -> [..., L - size + 1].

    van Herk / Gil-Werman: cut the axis into blocks of ``size``, take running maxima forward and backward
    inside each block; a window spans the tail of one block and the head of the next, so its maximum is
    max(backward[i], forward[i + size - 1]). A few passes whatever the window (a pooling window costs ``size``
    per entry: 101 per pixel for a 0.1 bound at 1000 px wide).
    """
    length = x.shape[-1]
    blocks = -(-length // size)
    padded = F.pad(x, (0, blocks * size - length), value=float("-inf")).unflatten(-1, (blocks, size))
    forward = padded.cummax(-1).values.flatten(-2)
    backward = padded.flip(-1).cummax(-1).values.flip(-1).flatten(-2)
    count = length - size + 1
    return torch.maximum(backward[..., :count], forward[..., size - 1 : size - 1 + count])


def _max_filter(image: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` x ``size`` maximum of [H, W, C] (edges replicated): a running maximum along the rows, then
    along the columns (the square's maximum is separable)."""
    pad = size // 2
    x = image.permute(2, 0, 1)[None]  # [1, C, H, W]
    x = _running_max(F.pad(x, (pad, pad, 0, 0), mode="replicate"), size)
    x = _running_max(F.pad(x, (0, 0, pad, pad), mode="replicate").transpose(-1, -2), size).transpose(-1, -2)
    return x[0].permute(1, 2, 0)


def _min_filter(image: torch.Tensor, size: int) -> torch.Tensor:
    return -_max_filter(-image, size)


def top_hats(image: torch.Tensor, size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(white, black) top-hats of ``image`` [H, W, C] with a ``size`` x ``size`` square (odd, >= 1); both >= 0."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"top-hat size must be odd and positive, got {size}")
    opened = _max_filter(_min_filter(image, size), size)
    closed = _min_filter(_max_filter(image, size), size)
    return image - opened, closed - image


def bound_size(fraction: float, width: int) -> int:
    """The square's side for an image ``width`` pixels wide: ``fraction`` of it, odd, at least 3."""
    size = max(3, round(fraction * width))
    return size if size % 2 == 1 else size + 1


def clamp_rain(rain: torch.Tensor, rainy: torch.Tensor, size: int) -> torch.Tensor:
    """The rain layer [H, W, 3] clamped to what the rainy photo [H, W, 3] can hold: -black <= R <= white."""
    white, black = top_hats(rainy, size)
    return torch.minimum(torch.maximum(rain, -black), white)
