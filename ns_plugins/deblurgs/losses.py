"""DeblurGS's sub-frame smoothness loss and its decaying weight."""

from __future__ import annotations

import torch


def subframe_smoothness(subframes: torch.Tensor) -> torch.Tensor:
    """Mean L1 between adjacent sub-frame renders [N, H, W, 3] -> scalar (0 for N < 2)."""
    if subframes.shape[0] < 2:
        return subframes.new_zeros(())
    return (subframes[1:] - subframes[:-1]).abs().mean()


def exponential_weight(step: int, total_steps: int, start: float, end: float) -> float:
    """start -> end exponentially over total_steps, then end (paper: 5e-2 -> 1e-2)."""
    if total_steps <= 0 or start <= 0 or end <= 0:
        return end
    frac = min(max(step / total_steps, 0.0), 1.0)
    return start * (end / start) ** frac
