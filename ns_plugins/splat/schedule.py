"""Splatfacto's step schedule derived from a run's length, and the run length the methods follow.

Splatfacto's numbers assume ~30k steps: a 1500-step CPU run with them never leaves
quarter resolution and barely densifies (DESIGN.md section 7). A schedule field the user left
unset (None) is derived by scaling splatfacto's value by ``steps / 30000``; refinement keeps a
floor of 10 steps so the densification statistics still average over several views. A field
the user set is used as given, and the derived fields that depend on it (the warm-up's floor,
the reset interval counted in refinements) follow the value actually used.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional

from ns_plugins.data.errors import DataError

REFERENCE_STEPS = 30000
"""The run length splatfacto's defaults were tuned for."""

SCHEDULE_FIELDS = (
    "warmup_length",
    "refine_every",
    "reset_alpha_every",
    "resolution_schedule",
    "sh_degree_interval",
    "stop_split_at",
    "stop_screen_size_at",
)
"""The ``SplatfactoModelConfig`` fields derived from the run length when left unset."""

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
_DIVISORS = ("refine_every", "reset_alpha_every", "resolution_schedule", "sh_degree_interval")  # step // or % by them


def schedule_length(schedule_steps: Optional[int], run_steps: Optional[int]) -> int:
    """The run length step schedules follow: ``schedule_steps`` when set, else the run's, else 30000."""
    return schedule_steps or run_steps or REFERENCE_STEPS


def scaled_interval(every: int, steps: int) -> int:
    """An interval of ``every`` steps in a 30k-step run, scaled to a run of ``steps`` steps, at least 1."""
    return max(1, round(every * steps / REFERENCE_STEPS))


def scaled_schedule(
    steps: int, num_train_images: int = 0, given: Optional[Mapping[str, Optional[int]]] = None
) -> Dict[str, int]:
    """Splatfacto config values for a run of ``steps`` steps.

    Args:
        steps: run length.
        num_train_images: splatfacto pauses refinement for ``num_train_images + refine_every``
            steps after each opacity reset; resets are spaced so that refinement still happens.
        given: field name -> value the user set (None: derive it); set values are returned unchanged.

    Returns:
        Field name -> value for every name in :data:`SCHEDULE_FIELDS`; with nothing given and
        ``steps == 30000`` these are splatfacto's own defaults.
    """
    if steps <= 0:
        raise ValueError(f"schedule_steps must be positive, got {steps}")
    given = {name: value for name, value in (given or {}).items() if value is not None}
    for name in _DIVISORS:
        if given.get(name, 1) < 1:
            raise DataError(f"--pipeline.model.{name.replace('_', '-')}", f"must be at least 1 step, got {given[name]}")
    frac = steps / REFERENCE_STEPS
    values = {name: max(1, round(base * frac)) for name, base in _SPLATFACTO_STEPS.items()}
    refine_every = given.get("refine_every", max(_MIN_REFINE_EVERY, round(_SPLATFACTO_REFINE_EVERY * frac)))
    values["refine_every"] = refine_every
    pause = num_train_images + refine_every
    reset_steps = max(_SPLATFACTO_RESET_EVERY_STEPS * frac, _REFINEMENTS_BETWEEN_RESETS * refine_every + pause)
    values["reset_alpha_every"] = max(1, math.ceil(reset_steps / refine_every))
    values["warmup_length"] = max(values["warmup_length"], refine_every)
    values.update({name: value for name, value in given.items() if name in values})
    return values


def describe_schedule(values: Mapping[str, int], given: Mapping[str, Optional[int]], steps: int) -> str:
    """One line for the log: every schedule value, the ones the user set marked ``(set)``."""
    parts = [f"{name}={value}" + (" (set)" if given.get(name) is not None else "") for name, value in values.items()]
    return f"Step schedule (unset values derived for a {steps}-step run): " + ", ".join(parts)
