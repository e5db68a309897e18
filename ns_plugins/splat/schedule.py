"""Splatfacto's step schedule rescaled to a run's length.

Splatfacto's numbers assume ~30k steps: a 1500-step CPU run with them never leaves
quarter resolution and barely densifies (DESIGN.md section 7). Every step-valued field is
scaled by ``steps / 30000``; refinement keeps a floor of 10 steps so the densification
statistics still average over several views.
"""

from __future__ import annotations

import math
from typing import Dict

REFERENCE_STEPS = 30000
"""The run length splatfacto's defaults were tuned for."""

_SPLATFACTO_STEPS = {
    "warmup_length": 500,
    "resolution_schedule": 3000,
    "sh_degree_interval": 1000,
    "stop_split_at": 15000,
    "stop_screen_size_at": 4000,
}
_SPLATFACTO_REFINE_EVERY = 100
_SPLATFACTO_RESET_EVERY_STEPS = 3000  # reset_alpha_every (30) x refine_every (100)
_MIN_REFINE_EVERY = 10
_REFINEMENTS_BETWEEN_RESETS = 5  # at least this many refinements between the pause and the next reset


def scaled_schedule(steps: int, num_train_images: int = 0) -> Dict[str, int]:
    """Splatfacto config values for a run of ``steps`` steps.

    Args:
        steps: run length.
        num_train_images: splatfacto pauses refinement for ``num_train_images + refine_every``
            steps after each opacity reset; resets are spaced so that refinement still happens.

    Returns:
        Field name -> value for ``SplatfactoModelConfig``; at ``steps == 30000`` these are
        splatfacto's own defaults.
    """
    if steps <= 0:
        raise ValueError(f"schedule_steps must be positive, got {steps}")
    frac = steps / REFERENCE_STEPS
    values = {name: max(1, round(base * frac)) for name, base in _SPLATFACTO_STEPS.items()}
    refine_every = max(_MIN_REFINE_EVERY, round(_SPLATFACTO_REFINE_EVERY * frac))
    values["refine_every"] = refine_every
    pause = num_train_images + refine_every
    reset_steps = max(_SPLATFACTO_RESET_EVERY_STEPS * frac, _REFINEMENTS_BETWEEN_RESETS * refine_every + pause)
    values["reset_alpha_every"] = max(1, math.ceil(reset_steps / refine_every))
    values["warmup_length"] = max(values["warmup_length"], refine_every)
    return values
