"""Clustering Gaussians by their segmentation feature, and 2D masks from rendered features.

Labels: 0 = no object, 1..K = clusters. ``auto`` (default) chooses K from the data: for every K in a
range, an average-linkage cut refined by spherical k-means; the K with the highest silhouette
(cosine) wins;
the range starts at the typical number of segments a training view labels (a view rarely shows
more objects than the scene has; merges and missing objects only lower it) and never at 1 when
views label 3 or more segments. ``hdbscan`` needs no K either (density leaves, kept for
comparison); ``kmeans`` takes K. All fit on a sample of the unit features (Euclidean distance on
unit vectors orders pairs as cosine similarity does) of the Gaussians that are opaque and, when
their visibility is given, render at least ``min_visibility`` pixels of the training views (see
``visibility.py``: unseen Gaussians keep untrained features that form spurious clusters or bridge
real ones); clusters whose centres nearly coincide are merged, and then every Gaussian and every
pixel goes to its most similar centre. ``argmax`` is for the naive raw-id baseline, whose
features are class logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Literal, Optional, Sequence

import numpy as np
import torch

from ns_plugins.contrastive_gc.features import normalize

Method = Literal["auto", "hdbscan", "kmeans", "argmax"]
DEFAULT_MAX_CLUSTERS = 20
"""Largest K ``auto`` tries when no mask statistics bound it."""


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
    choice: Dict = field(default_factory=dict)
    """Why this many clusters (``auto``: the K range, its source and the silhouette of every K)."""
    trained: Optional[np.ndarray] = None
    """[N] bool: Gaussians whose features the loss shaped (seen on labelled training pixels), or None
    (unknown). Pixels rendered mostly by the others get 0 (see :func:`label_pixels`)."""
    by_label: bool = False
    """Pixels take the label with the most rendered weight (the labels blended as one-hot channels,
    label 0 competing too) instead of the centre nearest their rendered feature: labels lifted from
    the masks (label_lifting.py) are sharper than the features they started from."""

    @property
    def num_clusters(self) -> int:
        return int(self.labels.max(initial=0))


def mask_segment_counts(segment_maps: Sequence[np.ndarray], min_pixels: int = 1) -> np.ndarray:
    """Number of segments (ids > 0 with at least ``min_pixels`` pixels) in each view's map [H, W] -> [V]."""
    counts = []
    for seg in segment_maps:
        ids, sizes = np.unique(np.asarray(seg).reshape(-1), return_counts=True)
        counts.append(int(((ids > 0) & (sizes >= min_pixels)).sum()))
    return np.asarray(counts, dtype=np.int64)


def cluster_range(segment_counts: Optional[np.ndarray], max_clusters: Optional[int] = None) -> tuple[int, int, str]:
    """(smallest K, largest K, why) for ``auto`` from the per-view segment counts [V] (None: no masks)."""
    if segment_counts is None or len(segment_counts) == 0:
        top = max_clusters or DEFAULT_MAX_CLUSTERS
        return 2, top, f"no mask statistics: K from 2 to {top}"
    typical, most = int(np.median(segment_counts)), int(segment_counts.max())
    low = max(2, typical)
    top = max_clusters or max(low + 4, 2 * most)
    why = (
        f"training views label {typical} segments (median; max {most}, {len(segment_counts)} views): "
        f"K from {low} (a view rarely shows more objects than the scene has) to {top}"
    )
    return low, max(low, top), why


def spherical_kmeans(x: np.ndarray, centers: np.ndarray, iterations: int = 10) -> np.ndarray:
    """Lloyd iterations on unit features x [S, E] from unit centres [K, E] -> labels [S] (empty clusters dropped)."""
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        labels = (x @ centers.T).argmax(1)
        kept = np.unique(labels)
        centers = np.stack([x[labels == k].mean(0) for k in kept])
        centers /= np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-6)
    return (x @ centers.T).argmax(1)


def choose_num_clusters(
    x: np.ndarray, low: int, high: int, seed: int, sample: int = 2000, min_fraction: float = 0.005
) -> tuple[np.ndarray, dict]:
    """Cluster unit features x [S, E] into the K in [low, high] with the highest silhouette (cosine).

    Each K: the average-linkage (cosine) tree of a sample cut into K clusters, clusters under
    ``min_fraction`` of the sample dropped (outliers, not objects), then spherical k-means on all
    of x from their centres. The tree finds small well-separated groups that k-means++ seeding
    misses; k-means then fixes the tree's greedy merges.

    Returns:
        raw labels [S] of the chosen clustering, and {"silhouette": {K: score}, "chosen": K}.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    idx = np.random.default_rng(seed).choice(len(x), size=min(sample, len(x)), replace=False)
    xs = x[idx]
    tree = linkage(xs, method="average", metric="cosine")
    min_size = max(3, int(min_fraction * len(xs)))
    scores: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    for k in range(max(2, low), min(high, len(xs) - 1) + 1):
        cut = fcluster(tree, k, criterion="maxclust")
        ids, sizes = np.unique(cut, return_counts=True)
        big = ids[sizes >= min_size]
        if len(big) < 2:
            continue
        centers = np.stack([xs[cut == i].mean(0) for i in big])
        centers /= np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-6)
        labels = spherical_kmeans(x, centers)
        found = len(np.unique(labels))
        if found < max(2, low) or found in scores:  # a cut whose small clusters were dropped repeats a smaller K
            continue
        scores[found] = float(silhouette_score(xs, labels[idx], metric="cosine"))
        fits[found] = labels
    if not scores:  # no cut of the tree holds `low` clusters of any size: k-means has to
        from sklearn.cluster import KMeans

        k = max(2, min(low, len(x)))
        # n_init: 'auto' or an int; pyright infers str from sklearn's unannotated default
        kmeans = KMeans(n_clusters=k, n_init=3, random_state=seed)  # pyright: ignore[reportArgumentType]
        return kmeans.fit_predict(x), {
            "silhouette": {},
            "chosen": k,
            "fallback": "k-means",
        }
    chosen = max(scores, key=lambda k: scores[k])
    return fits[chosen], {"silhouette": {str(k): round(v, 4) for k, v in sorted(scores.items())}, "chosen": chosen}


def _fit_labels(
    x: np.ndarray, method: str, num_clusters: Optional[int], min_cluster_size: int, seed: int
) -> np.ndarray:
    """Raw cluster labels [S] (-1 = noise) of unit features x [S, E] for ``hdbscan`` or ``kmeans``."""
    if method == "kmeans":
        from sklearn.cluster import KMeans

        if not num_clusters:
            raise ValueError("k-means needs num_clusters (--num-clusters)")
        kmeans = KMeans(n_clusters=min(num_clusters, len(x)), n_init=4, random_state=seed)  # pyright: ignore[reportArgumentType] (as above)
        return kmeans.fit_predict(x)
    from sklearn.cluster import HDBSCAN

    # leaf selection: the default (excess of mass) prefers one big parent cluster over its children
    # when a segment holds most of the Gaussians (measured: sky and ground merged, 0.71 vs 0.94
    # held-out mIoU); near-duplicate leaves are merged afterwards by centre similarity
    return HDBSCAN(
        min_cluster_size=min_cluster_size, min_samples=min(10, min_cluster_size), cluster_selection_method="leaf"
    ).fit_predict(x)


def merge_close_centers(centers: np.ndarray, sizes: np.ndarray, merge_similarity: float) -> np.ndarray:
    """Group ids [K] after merging centres [K, E] whose cosine similarity exceeds ``merge_similarity`` (greedy, largest
    first)."""
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
    method: Method = "auto",
    num_clusters: Optional[int] = None,
    min_cluster_size: Optional[int] = None,
    min_opacity: float = 0.1,
    visibility: Optional[torch.Tensor] = None,
    min_visibility: float = 1.0,
    min_trusted_visibility: float = 0.1,
    max_fit: int = 5000,
    merge_similarity: float = 0.9,
    min_similarity: float = 0.0,
    segment_counts: Optional[np.ndarray] = None,
    max_clusters: Optional[int] = None,
    seed: int = 0,
) -> Clustering:
    """One label per Gaussian from features [N, E] and activated opacities [N].

    Args:
        method: ``auto`` (K chosen from the data; ``num_clusters`` overrides it), ``hdbscan`` (no K),
            ``kmeans`` (needs num_clusters) or ``argmax`` (features are logits).
        min_cluster_size: HDBSCAN's; default 2% of the fitted sample (at least 5).
        min_opacity: only Gaussians at least this opaque are fitted (all are labelled).
        visibility: [N] summed blend weight of each Gaussian over the training views (pixels), or None.
        min_visibility: with ``visibility``, only Gaussians rendering at least this many pixels are fitted.
        min_trusted_visibility: with ``visibility``, Gaussians rendering at least this many pixels (and at
            least ``min_opacity`` opaque) count as trained (``Clustering.trained``). Lower than
            ``min_visibility``: once a run has more Gaussians than its training views have labelled pixels,
            most Gaussians render under a pixel each, yet the loss shaped their features.
        max_fit: at most this many Gaussians are fitted (a random sample).
        merge_similarity: HDBSCAN clusters whose unit centres are more similar are merged.
        segment_counts: [V] segments labelled in each training view (``mask_segment_counts``), for ``auto``.
        max_clusters: largest K ``auto`` tries (default: from ``segment_counts``, else 20).
    """
    feats = features.detach().float().cpu()
    if method == "argmax":
        return Clustering(
            labels=feats.argmax(-1).numpy().astype(np.int32),
            centers=np.zeros((0, feats.shape[1]), np.float32),
            method=method,
        )
    unit = normalize(feats).numpy()
    opaque = opacities.detach().cpu().numpy().reshape(-1) >= min_opacity
    seen = None if visibility is None else visibility.detach().cpu().numpy().reshape(-1)
    fit_mask = opaque if seen is None else opaque & (seen >= min_visibility)
    visible = np.flatnonzero(fit_mask)
    if len(visible) < 2:
        visible = np.arange(len(unit))
    rng = np.random.default_rng(seed)
    fit_idx = rng.choice(visible, size=min(max_fit, len(visible)), replace=False)
    x = unit[fit_idx]
    choice: dict = {"fitted_gaussians": int(len(fit_idx))}
    if method == "auto" and num_clusters:
        method, choice["reason"] = "kmeans", f"--num-clusters {num_clusters} given"
    if method == "auto":
        low, high, why = cluster_range(segment_counts, max_clusters)
        if segment_counts is not None and len(segment_counts) and int(np.max(segment_counts)) <= 1:
            raw, choice["reason"] = (
                np.zeros(len(x), dtype=np.int64),
                "no training view labels more than one segment: 1 cluster",
            )
        else:
            raw, scores = choose_num_clusters(x, low, high, seed)
            choice.update(scores)
            choice["reason"] = f"{why}; K = {scores['chosen']} has the highest silhouette (cosine)"
        if segment_counts is not None and len(segment_counts):
            choice["segments_per_view"] = {
                "median": float(np.median(segment_counts)),
                "min": int(np.min(segment_counts)),
                "max": int(np.max(segment_counts)),
            }
    else:
        size = min_cluster_size or max(5, len(fit_idx) // 50)
        raw = _fit_labels(x, method, num_clusters, size, seed)
        if method == "kmeans" and "reason" not in choice:
            choice["reason"] = f"k-means with the given K = {num_clusters}"
    ids = sorted(set(int(r) for r in raw) - {-1})
    if not ids:  # everything is noise: one cluster
        raw, ids = np.zeros(len(fit_idx), dtype=np.int64), [0]
    centers = np.stack([x[raw == i].mean(0) for i in ids])
    sizes = np.array([(raw == i).sum() for i in ids])
    centers /= np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-6)
    if method == "hdbscan":  # HDBSCAN's leaves over-split; a K the user or the silhouette chose stays
        group = merge_close_centers(centers, sizes, merge_similarity)
        centers = np.stack([(centers[group == g] * sizes[group == g, None]).sum(0) for g in range(group.max() + 1)])
        centers /= np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-6)
        choice["reason"] = (
            f"HDBSCAN leaves (min cluster size {size}) merged above cosine {merge_similarity}: {len(centers)} clusters"
        )
    result = Clustering(
        labels=np.zeros(len(unit), np.int32),
        centers=centers.astype(np.float32),
        method=method,
        min_similarity=min_similarity,
    )
    trained = None if seen is None else opaque & (seen >= min_trusted_visibility)
    return Clustering(assign(unit, result), result.centers, method, min_similarity, choice, trained)


def dominant_segments(
    cluster_map: np.ndarray, segment_map: np.ndarray, num_clusters: int, min_pixels: int
) -> np.ndarray:
    """[K] the mask segment holding most of each cluster's pixels in one view (0: the cluster shows on
    fewer than ``min_pixels`` pixels, or mostly on unlabelled ones). cluster_map, segment_map [H, W]."""
    clusters, segments = cluster_map.reshape(-1), segment_map.reshape(-1)
    out = np.zeros(num_clusters, dtype=np.int64)
    for k in range(1, num_clusters + 1):
        inside = segments[clusters == k]
        labelled = inside[inside > 0]
        if len(inside) < min_pixels or 2 * len(labelled) < len(inside):
            continue
        ids, counts = np.unique(labelled, return_counts=True)
        out[k - 1] = ids[counts.argmax()]
    return out


def mask_votes(
    cluster_maps: Sequence[np.ndarray], segment_maps: Sequence[Optional[np.ndarray]], num_clusters: int, min_pixels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Over the training views: ([K, K] views whose masks put clusters i and j in one segment,
    [K, K] views where both clusters sit on labelled pixels). Maps [H, W] per view; None: no mask."""
    together = np.zeros((num_clusters, num_clusters), dtype=np.int64)
    both = np.zeros_like(together)
    for clusters, segments in zip(cluster_maps, segment_maps):
        if segments is None:
            continue
        seg = dominant_segments(clusters, segments, num_clusters, min_pixels)
        shown = seg > 0
        pair = shown[:, None] & shown[None, :]
        both += pair
        together += pair & (seg[:, None] == seg[None, :])
    return together, both


def merge_by_mask_votes(
    cluster_maps: Sequence[np.ndarray],
    segment_maps: Sequence[Optional[np.ndarray]],
    num_clusters: int,
    min_share: float = 0.5,
    min_views: int = 2,
    min_pixels: int = 4,
) -> tuple[np.ndarray, list[dict]]:
    """Merge clusters that the training masks keep putting in one segment.

    Masks are inconsistent, but mostly right: two clusters whose pixels fall in the same segment in
    at least ``min_share`` of the (at least ``min_views``) views showing both are one object split
    by the clustering (the masks of a few views merging two objects, or cutting one into parts,
    do not reach it). Pairs are merged greedily, most agreed first, the votes recounted after each.

    Returns:
        group [K] (0..G-1) of each cluster, and one record per merge (clusters, views, share).
    """
    group = np.arange(num_clusters)
    merges: list[dict] = []
    while group.max() > 0:
        g = int(group.max()) + 1
        maps = [np.where(m > 0, group[np.clip(m - 1, 0, None)] + 1, 0) for m in cluster_maps]
        together, both = mask_votes(maps, segment_maps, g, min_pixels)
        share = np.where(both >= min_views, together / np.maximum(both, 1), 0.0)
        np.fill_diagonal(share, 0.0)
        i, j = np.unravel_index(int(share.argmax()), share.shape)
        if share[i, j] < min_share:
            break
        lo, hi = min(i, j), max(i, j)
        merges.append(
            {
                "clusters": [np.flatnonzero(group == lo).tolist(), np.flatnonzero(group == hi).tolist()],
                "views_together": int(together[i, j]),
                "views_both": int(both[i, j]),
            }
        )
        group = np.where(group == hi, lo, group)
        group = np.where(group > hi, group - 1, group)
    return group, merges


def merged(clustering: Clustering, unit_features: np.ndarray, group: np.ndarray) -> Clustering:
    """``clustering`` with clusters of one ``group`` [K] joined (centres weighted by cluster size) and
    every Gaussian's unit feature [N, E] assigned again."""
    if group.max() + 1 == len(clustering.centers):
        return clustering
    sizes = np.bincount(clustering.labels[clustering.labels > 0] - 1, minlength=len(clustering.centers))
    centers = np.stack(
        [(clustering.centers[group == g] * sizes[group == g, None]).sum(0) for g in range(int(group.max()) + 1)]
    )
    centers /= np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-6)
    out = replace(clustering, centers=centers.astype(np.float32))
    return replace(out, labels=assign(unit_features, out))


def assign(unit_features: np.ndarray, clustering: Clustering) -> np.ndarray:
    """Labels [...] of unit features [..., E]: most similar centre + 1, or 0 below ``min_similarity``."""
    sims = unit_features @ clustering.centers.T  # [..., K]
    labels = sims.argmax(-1).astype(np.int32) + 1
    labels[sims.max(-1) < clustering.min_similarity] = 0
    return labels


def label_pixels(
    features: torch.Tensor,
    accumulation: torch.Tensor,
    clustering: Clustering,
    min_alpha: float = 0.5,
    trained_weight: Optional[torch.Tensor] = None,
) -> np.ndarray:
    """2D mask [H, W] int32 of rendered features [H, W, E].

    Pixels with accumulation below ``min_alpha`` get 0, and so do pixels where Gaussians the loss
    never shaped (``trained_weight`` [H, W, 1]: the rendered weight of ``clustering.trained`` ones)
    make up less than half the accumulation: their features are random, not an object's.
    With ``clustering.by_label``, ``features`` are the rendered one-hot labels [H, W, K + 1].
    """
    feats = features.detach().float().cpu()
    if clustering.method == "argmax" or clustering.by_label:
        labels = feats.argmax(-1).numpy().astype(np.int32)
    else:
        labels = assign(normalize(feats).numpy(), clustering)
    alpha = accumulation.detach().cpu().numpy().reshape(labels.shape)
    labels[alpha < min_alpha] = 0
    if trained_weight is not None:
        labels[trained_weight.detach().cpu().numpy().reshape(labels.shape) < 0.5 * alpha] = 0
    return labels
