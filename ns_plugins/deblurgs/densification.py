"""Gaussian Densification Annealing (GDA) on gsplat's DefaultStrategy.

DeblurGS densifies timidly while the trajectories are still wrong: the 2D-gradient threshold
decays log-linearly from ``start`` to ``end`` over the first ``fraction`` of the run (paper:
4e-4 -> 2e-4 over 25k of 150k iterations), then stays at ``end``.

Statistics over all sub-frames with weight 1/N: gsplat's ``DefaultStrategy._update_state``
already does this for a batch of C = N cameras. Each sub-frame's means2d gradient is ~1/N of a
single view's (the blur is a mean), gsplat multiplies it by ``n_cameras`` and counts each
sub-frame once, so the running average equals sum_k |g_k| / (visible sub-frames / N): one blurry
image weighs as one view, as in the authors' code. Nothing to override.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class GDAConfig:
    """Gaussian Densification Annealing: the densification threshold's schedule."""

    enabled: bool = True
    start: float = 4e-4
    """Threshold at step 0 (paper, for gsplat's plain gradient: use_absgrad False)."""
    end: float = 2e-4
    """Threshold at the end of the annealing and afterwards."""
    fraction: float = 25000 / 150000
    """Part of the run over which the threshold decays (paper: 25k of 150k)."""


def gda_threshold(step: int, run_steps: int, config: GDAConfig) -> float:
    """Densification gradient threshold at ``step`` of a ``run_steps`` run (log-linear decay)."""
    anneal = config.fraction * run_steps
    if not config.enabled or anneal <= 0 or step >= anneal:
        return config.end
    frac = max(step, 0) / anneal
    return math.exp(math.log(config.start) + frac * (math.log(config.end) - math.log(config.start)))
