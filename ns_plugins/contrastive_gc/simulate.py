"""``inconsistent-masks``: the synthetic generator's degradation for contrastive-gc.

Writes ``segments/<stem>.png`` (16-bit) for every training view, made from the clean instance
map the way an automatic 2D segmenter would fail to be consistent:

- ids are a fresh random permutation in every view (``max_id`` bounds them);
- in some views two visible objects are merged into one segment (``merge_prob``);
- the ground is labelled in only some views (``ground_prob``), the sky in some (``sky_prob``);
  unlabelled pixels are 0.

The consistent ground truth stays in ``gt/instance/<stem>.png`` for every view. Options (JSON
through ``--degradation-options``): merge_prob 0.3, ground_prob 0.5, sky_prob 0.7, max_id 12.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ns_plugins.data import writer
from ns_plugins.data.degradation import DegradationContext, DegradationResult
from ns_plugins.data.scene import BACKGROUND_ID, GROUND_ID

SEGMENTS_DIR = "segments"
DEFAULTS: dict[str, Any] = {"merge_prob": 0.3, "ground_prob": 0.5, "sky_prob": 0.7, "max_id": 12}


def view_segments(instance: np.ndarray, rng: np.random.Generator, merge_prob: float, ground_prob: float, sky_prob: float, max_id: int) -> tuple[np.ndarray, dict]:
    """One view's inconsistent segment map [H, W] uint16 from its true instance map [H, W], and what was done."""
    present = [int(i) for i in np.unique(instance)]
    objects = [i for i in present if i not in (BACKGROUND_ID, GROUND_ID)]
    group = {i: i for i in objects}  # true id -> segment group
    merged: list[int] = []
    if len(objects) >= 2 and rng.random() < merge_prob:
        a, b = (int(x) for x in rng.choice(objects, size=2, replace=False))
        group[b] = a
        merged = sorted([a, b])
    if GROUND_ID in present and rng.random() < ground_prob:
        group[GROUND_ID] = GROUND_ID
    if BACKGROUND_ID in present and rng.random() < sky_prob:
        group[BACKGROUND_ID] = BACKGROUND_ID
    groups = sorted(set(group.values()))
    if len(groups) > max_id:
        raise ValueError(f"max_id {max_id} is smaller than the {len(groups)} segments of a view")
    new_ids = rng.choice(np.arange(1, max_id + 1), size=len(groups), replace=False)
    lookup = {g: int(n) for g, n in zip(groups, new_ids)}
    out = np.zeros(instance.shape, dtype=np.uint16)
    for true_id, g in group.items():
        out[instance == true_id] = lookup[g]
    info = {"merged": merged, "ground_labelled": GROUND_ID in group, "sky_labelled": BACKGROUND_ID in group, "ids": {str(k): v for k, v in lookup.items()}}
    return out, info


def inconsistent_masks(ctx: DegradationContext) -> DegradationResult:
    """Write ``segments/<stem>.png`` for the training views; training images stay clean."""
    unknown = set(ctx.options) - set(DEFAULTS)
    if unknown:
        from ns_plugins.data.errors import DataError

        raise DataError("--degradation-options", f"unknown option(s) {sorted(unknown)} for inconsistent-masks; known: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **ctx.options}
    views = {}
    for i in ctx.train_indices:
        stem = ctx.stems[i]
        seg, info = view_segments(ctx.clean[i]["instance"], ctx.rng, float(opts["merge_prob"]), float(opts["ground_prob"]), float(opts["sky_prob"]), int(opts["max_id"]))
        writer.write_uint16_png(ctx.out_dir / SEGMENTS_DIR / f"{stem}.png", seg)
        views[stem] = info
    return DegradationResult(ground_truth={"segments_dir": SEGMENTS_DIR, "options": opts, "views": views})
