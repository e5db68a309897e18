"""Segmentation quality: matched mIoU of 2D masks and agreement of 3D labels.

mIoU: over all held-out views at once, each ground-truth segment is matched one-to-one to a
predicted cluster (Hungarian, maximising IoU); the score is the sum of matched IoUs divided by
(number of ground-truth segments + number of predicted clusters left unmatched), so an extra
cluster counts as a false positive with IoU 0 and one cluster cannot serve two objects.
Predicted id 0 means "no object" (pixels the model leaves unlabelled): it is never matched and
never counted as a cluster, and its pixels count as misses in the unions of their true segments.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def confusion(pred: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts [P, T] of (predicted id, true id) over all views, with the id lists [P] and [T]."""
    p = np.concatenate([np.asarray(x).reshape(-1) for x in pred]).astype(np.int64)
    t = np.concatenate([np.asarray(x).reshape(-1) for x in truth]).astype(np.int64)
    if p.shape != t.shape:
        raise ValueError("predicted and true masks differ in size")
    p_ids, p_inv = np.unique(p, return_inverse=True)
    t_ids, t_inv = np.unique(t, return_inverse=True)
    counts = np.zeros((len(p_ids), len(t_ids)), dtype=np.int64)
    np.add.at(counts, (p_inv, t_inv), 1)
    return counts, p_ids, t_ids


def matched_miou(pred: Sequence[np.ndarray], truth: Sequence[np.ndarray], ignore_truth: Iterable[int] = ()) -> dict:
    """Matched mIoU of predicted masks vs true instance maps (lists of [H, W] int arrays).

    Args:
        ignore_truth: true ids that are not segments to find (their pixels still count in unions).

    Returns:
        {"miou", "per_segment": {true id: IoU}, "unmatched_clusters", "matches": {true id: cluster id}}.
    """
    from scipy.optimize import linear_sum_assignment

    counts, p_ids, t_ids = confusion(pred, truth)
    inter = counts.astype(np.float64)
    union = counts.sum(1, keepdims=True) + counts.sum(0, keepdims=True) - inter
    iou = inter / np.maximum(union, 1)
    keep_t = np.array([t not in set(ignore_truth) for t in t_ids])
    clusters = np.flatnonzero(p_ids != 0)
    iou_t = iou[clusters][:, keep_t]
    rows, cols = linear_sum_assignment(-iou_t)
    per = {int(t_ids[keep_t][c]): float(iou_t[r, c]) for r, c in zip(rows, cols)}
    for t in t_ids[keep_t]:
        per.setdefault(int(t), 0.0)
    unmatched = len(clusters) - len(rows)
    miou = sum(per.values()) / (len(per) + unmatched)
    return {
        "miou": float(miou),
        "per_segment": per,
        "unmatched_clusters": int(unmatched),
        "matches": {int(t_ids[keep_t][c]): int(p_ids[clusters][r]) for r, c in zip(rows, cols)},
    }


def adjusted_rand_index(labels: np.ndarray, truth: np.ndarray) -> float:
    """Adjusted Rand index of Gaussian labels [N] vs the true object of each Gaussian [N]."""
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(np.asarray(truth), np.asarray(labels)))


def nearest_point_labels(query: np.ndarray, points: np.ndarray, point_labels: np.ndarray) -> np.ndarray:
    """Label [M] of the nearest of ``points`` [P, 3] to each of ``query`` [M, 3]."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1).fit(points)
    return np.asarray(point_labels)[nn.kneighbors(query, return_distance=False)[:, 0]]
