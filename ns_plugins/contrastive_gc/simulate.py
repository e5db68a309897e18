"""``inconsistent-masks``: the synthetic generator's degradation for contrastive-gc.

Writes ``segments/<stem>.png`` (16-bit) for every training view, made from the clean instance
map the way an automatic 2D segmenter (SAM) fails to be consistent:

- ids are a fresh random permutation in every view (``max_id`` bounds them);
- in some views two visible objects are merged into one segment (``merge_prob``);
- the ground is labelled in only some views (``ground_prob``), the sky in some (``sky_prob``);
- an object is left out of a view's masks with probability ``missing_prob`` (per object and view);
- in some views one object is split into 2 or 3 parts by straight cuts through it
  (``split_prob``), as SAM's part masks do;
- every segment's boundary moves by up to ``boundary_px`` pixels (each segment dilated or eroded
  by 1..boundary_px at random; pixels eroded away are 0).

Unlabelled pixels are 0. The consistent ground truth stays in ``gt/instance/<stem>.png`` for every
view. Options (JSON through ``--degradation-options``): merge_prob 0.3, ground_prob 0.5,
sky_prob 0.7, max_id 12, missing_prob 0, split_prob 0, boundary_px 0.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from ns_plugins.data import writer
from ns_plugins.data.degradation import DegradationContext, DegradationResult
from ns_plugins.data.errors import DataError
from ns_plugins.data.scene import BACKGROUND_ID, GROUND_ID

SEGMENTS_DIR = "segments"
DEFAULTS: dict[str, Any] = {
    "merge_prob": 0.3,
    "ground_prob": 0.5,
    "sky_prob": 0.7,
    "max_id": 12,
    "missing_prob": 0.0,
    "split_prob": 0.0,
    "boundary_px": 0,
}


def view_segments(
    instance: np.ndarray,
    rng: np.random.Generator,
    merge_prob: float,
    ground_prob: float,
    sky_prob: float,
    max_id: int,
    missing_prob: float = 0.0,
    split_prob: float = 0.0,
    boundary_px: int = 0,
) -> tuple[np.ndarray, dict]:
    """One view's inconsistent segment map [H, W] uint16 from its true instance map [H, W], and what was done."""
    present = [int(i) for i in np.unique(instance)]
    objects = [i for i in present if i not in (BACKGROUND_ID, GROUND_ID)]
    # options left at 0 draw nothing, so the default datasets keep their random stream
    missing = sorted(i for i in objects if missing_prob > 0 and rng.random() < missing_prob)
    objects = [i for i in objects if i not in missing]
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
    # a segment map with groups as labels (-1 unlabelled), then parts, then fresh ids
    labels = np.full(instance.shape, -1, dtype=np.int64)
    for true_id, g in group.items():
        labels[instance == true_id] = g
    split: list[int] = []
    unmerged = [i for i in objects if i not in merged]
    if unmerged and split_prob > 0 and rng.random() < split_prob:
        target = int(rng.choice(unmerged))
        labels, parts = split_into_parts(labels, target, int(rng.integers(2, 4)), rng)
        split = [target, parts]
    if boundary_px > 0:
        labels = perturb_boundaries(labels, boundary_px, rng)
    segments = sorted(int(s) for s in np.unique(labels) if s >= 0)
    if len(segments) > max_id:
        raise ValueError(f"max_id {max_id} is smaller than the {len(segments)} segments of a view")
    new_ids = rng.choice(np.arange(1, max_id + 1), size=len(segments), replace=False)
    lookup = {g: int(n) for g, n in zip(segments, new_ids)}
    out = np.zeros(instance.shape, dtype=np.uint16)
    for g, n in lookup.items():
        out[labels == g] = n
    info = {
        "merged": merged,
        "missing": missing,
        "split": split,
        "ground_labelled": GROUND_ID in group,
        "sky_labelled": BACKGROUND_ID in group,
        "ids": {str(k): v for k, v in lookup.items() if k in group},
    }
    return out, info


def split_into_parts(
    labels: np.ndarray, target: int, num_parts: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Split segment ``target`` of labels [H, W] into up to ``num_parts`` bands across a random direction.

    New parts get ids above the current maximum -> (labels, number of parts made).
    """
    ys, xs = np.nonzero(labels == target)
    if len(ys) < num_parts:
        return labels, 1
    angle = rng.uniform(0, np.pi)
    proj = xs * np.cos(angle) + ys * np.sin(angle)
    cuts = np.quantile(proj, np.sort(rng.uniform(0.25, 0.75, size=num_parts - 1)))
    band = np.searchsorted(cuts, proj)
    out = labels.copy()
    base = int(labels.max()) + 1
    out[ys[band > 0], xs[band > 0]] = base + band[band > 0] - 1
    return out, int(len(np.unique(band)))


def perturb_boundaries(labels: np.ndarray, max_px: int, rng: np.random.Generator) -> np.ndarray:
    """Each segment of labels [H, W] (-1 = unlabelled) dilated or eroded by 1..max_px pixels at random.

    Dilations are applied after erosions, smaller segments last, so a dilated small segment is
    not overwritten by a larger neighbour; eroded pixels become unlabelled.
    """
    from scipy.ndimage import binary_dilation, binary_erosion

    segments = [int(s) for s in np.unique(labels) if s >= 0]
    out = labels.copy()
    grow = []
    for s in segments:
        radius = int(rng.integers(1, max_px + 1))
        mask = labels == s
        if rng.random() < 0.5:
            eroded = cast(
                "np.ndarray[Any, np.dtype[np.bool_]]", binary_erosion(mask, iterations=radius, border_value=1)
            )
            out[mask & ~eroded] = -1  # the image edge is no boundary
        else:
            grow.append((int(mask.sum()), s, radius))
    for _, s, radius in sorted(grow, reverse=True):
        mask = labels == s
        out[cast("np.ndarray[Any, np.dtype[np.bool_]]", binary_dilation(mask, iterations=radius))] = s
    return out


def inconsistent_masks(ctx: DegradationContext) -> DegradationResult:
    """Write ``segments/<stem>.png`` for the training views; training images stay clean."""
    unknown = set(ctx.options) - set(DEFAULTS)
    if unknown:
        raise DataError(
            "--degradation-options",
            f"unknown option(s) {sorted(unknown)} for inconsistent-masks; known: {sorted(DEFAULTS)}",
        )
    opts = {**DEFAULTS, **ctx.options}
    views = {}
    for i in ctx.train_indices:
        stem = ctx.stems[i]
        seg, info = view_segments(
            ctx.clean[i]["instance"],
            ctx.rng,
            float(opts["merge_prob"]),
            float(opts["ground_prob"]),
            float(opts["sky_prob"]),
            int(opts["max_id"]),
            float(opts["missing_prob"]),
            float(opts["split_prob"]),
            int(opts["boundary_px"]),
        )
        writer.write_uint16_png(ctx.out_dir / SEGMENTS_DIR / f"{stem}.png", seg)
        views[stem] = info
    return DegradationResult(ground_truth={"segments_dir": SEGMENTS_DIR, "options": opts, "views": views})
