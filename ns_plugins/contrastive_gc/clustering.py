"""Clustering Gaussians by their segmentation feature, and 2D masks from rendered features.

Labels: 0 = no object, 1..K = clusters. HDBSCAN (default) needs no cluster count; k-means takes
k. Both fit on a sample of the unit features (Euclidean distance on unit vectors orders pairs as
cosine similarity does) of the Gaussians that are opaque and, when their visibility is given,
render at least ``min_visibility`` pixels of the training views (see ``visibility.py``: unseen
Gaussians keep untrained features that form spurious clusters or bridge real ones); clusters
whose centres nearly coincide are merged, and then every Gaussian and every pixel goes to its
most similar centre. ``argmax`` is for the naive raw-id baseline, whose features are class logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
import torch

from ns_plugins.contrastive_gc.features import normalize

Method = Literal["hdbscan", "kmeans", "argmax"]


@dataclass(frozen=True)
class Clustering:
    """Labels of the Gaussians and how to label pixels the same way."""

    labels: np.ndarray
    """[N] int32, 0 = no object, 1..K."""
    centers: np.ndarray
    """[K, E] unit centre of cluster k+1 (empty for argmax)."""
    method: str
    min_similarity: float = 0.0
    """Gaussians/pixels less similar than this to every centre get 0."""

    @property
    def num_clusters(self) -> int:
        return int(self.labels.max(initial=0))


def _fit_labels(x: np.ndarray, method: str, num_clusters: Optional[int], min_cluster_size: int, seed: int) -> np.ndarray:
    """Raw cluster labels [S] (-1 = noise) of unit features x [S, E]."""
    if method == "kmeans":
        from sklearn.cluster import KMeans

        if not num_clusters:
            raise ValueError("k-means needs num_clusters (--num-clusters)")
        return KMeans(n_clusters=min(num_clusters, len(x)), n_init=4, random_state=seed).fit_predict(x)
    from sklearn.cluster import HDBSCAN

    # leaf selection: the default (excess of mass) prefers one big parent cluster over its children
    # when a segment holds most of the Gaussians (measured: sky and ground merged, 0.71 vs 0.94
    # held-out mIoU); near-duplicate leaves are merged afterwards by centre similarity
    return HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min(10, min_cluster_size), cluster_selection_method="leaf").fit_predict(x)


def merge_close_centers(centers: np.ndarray, sizes: np.ndarray, merge_similarity: float) -> np.ndarray:
    """Group ids [K] after merging centres [K, E] whose cosine similarity exceeds ``merge_similarity`` (greedy, largest first)."""
    order = np.argsort(-sizes)
    group = -np.ones(len(centers), dtype=np.int64)
    reps: list[int] = []
    for k in order:
        sims = [float(centers[k] @ centers[r]) for r in reps]
        if sims and max(sims) > merge_similarity:
            group[k] = group[reps[int(np.argmax(sims))]]
        else:
            group[k] = len(reps)
            reps.append(int(k))
    return group


def cluster_gaussians(
    features: torch.Tensor,
    opacities: torch.Tensor,
    method: Method = "hdbscan",
    num_clusters: Optional[int] = None,
    min_cluster_size: Optional[int] = None,
    min_opacity: float = 0.1,
    visibility: Optional[torch.Tensor] = None,
    min_visibility: float = 1.0,
    max_fit: int = 5000,
    merge_similarity: float = 0.9,
    min_similarity: float = 0.0,
    seed: int = 0,
) -> Clustering:
    """One label per Gaussian from features [N, E] and activated opacities [N].

    Args:
        method: ``hdbscan`` (no k), ``kmeans`` (needs num_clusters) or ``argmax`` (features are logits).
        min_cluster_size: HDBSCAN's; default 2% of the fitted sample (at least 5).
        min_opacity: only Gaussians at least this opaque are fitted (all are labelled).
        visibility: [N] summed blend weight of each Gaussian over the training views (pixels), or None.
        min_visibility: with ``visibility``, only Gaussians rendering at least this many pixels are fitted.
        max_fit: at most this many Gaussians are fitted (a random sample).
        merge_similarity: clusters whose unit centres are more similar are merged.
    """
    feats = features.detach().float().cpu()
    if method == "argmax":
        return Clustering(labels=feats.argmax(-1).numpy().astype(np.int32), centers=np.zeros((0, feats.shape[1]), np.float32), method=method)
    unit = normalize(feats).numpy()
    fit_mask = opacities.detach().cpu().numpy().reshape(-1) >= min_opacity
    if visibility is not None:
        fit_mask &= visibility.detach().cpu().numpy().reshape(-1) >= min_visibility
    visible = np.flatnonzero(fit_mask)
    if len(visible) < 2:
        visible = np.arange(len(unit))
    rng = np.random.default_rng(seed)
    fit_idx = rng.choice(visible, size=min(max_fit, len(visible)), replace=False)
    size = min_cluster_size or max(5, len(fit_idx) // 50)
    raw = _fit_labels(unit[fit_idx], method, num_clusters, size, seed)
    ids = sorted(set(int(r) for r in raw) - {-1})
    if not ids:  # everything is noise: one cluster
        raw, ids = np.zeros(len(fit_idx), dtype=np.int64), [0]
    centers = np.stack([unit[fit_idx][raw == i].mean(0) for i in ids])
    sizes = np.array([(raw == i).sum() for i in ids])
    centers /= np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-6)
    group = merge_close_centers(centers, sizes, merge_similarity)
    merged = np.stack([(centers[group == g] * sizes[group == g, None]).sum(0) for g in range(group.max() + 1)])
    merged /= np.linalg.norm(merged, axis=1, keepdims=True).clip(1e-6)
    result = Clustering(labels=np.zeros(len(unit), np.int32), centers=merged.astype(np.float32), method=method, min_similarity=min_similarity)
    return Clustering(labels=assign(unit, result), centers=result.centers, method=method, min_similarity=min_similarity)


def assign(unit_features: np.ndarray, clustering: Clustering) -> np.ndarray:
    """Labels [...] of unit features [..., E]: most similar centre + 1, or 0 below ``min_similarity``."""
    sims = unit_features @ clustering.centers.T  # [..., K]
    labels = sims.argmax(-1).astype(np.int32) + 1
    labels[sims.max(-1) < clustering.min_similarity] = 0
    return labels


def label_pixels(features: torch.Tensor, accumulation: torch.Tensor, clustering: Clustering, min_alpha: float = 0.5) -> np.ndarray:
    """2D mask [H, W] int32 of rendered features [H, W, E]; pixels with accumulation below min_alpha get 0."""
    feats = features.detach().float().cpu()
    if clustering.method == "argmax":
        labels = feats.argmax(-1).numpy().astype(np.int32)
    else:
        labels = assign(normalize(feats).numpy(), clustering)
    labels[accumulation.detach().cpu().numpy().reshape(labels.shape) < min_alpha] = 0
    return labels
