"""Choosing the number of clusters from the data: hand-built features, mask statistics, overrides."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ns_plugins.contrastive_gc.clustering import (
    cluster_gaussians,
    cluster_range,
    label_pixels,
    mask_segment_counts,
    merge_by_mask_votes,
)
from ns_plugins.contrastive_gc.evaluation import adjusted_rand_index


def separated_groups(num_groups: int, seed: int, dim: int = 16, noise: float = 0.08) -> tuple[torch.Tensor, np.ndarray]:
    """Unit features [N, dim] of ``num_groups`` groups around orthogonal directions, sizes 30 .. 2430 (x81), and the
    truth [N]."""
    g = torch.Generator().manual_seed(seed)
    directions = torch.linalg.qr(torch.randn(dim, dim, generator=g))[0][:num_groups]  # orthonormal rows
    sizes = np.round(30 * 81 ** (np.arange(num_groups) / max(1, num_groups - 1))).astype(int)
    truth = torch.from_numpy(np.repeat(np.arange(num_groups), sizes))
    feats = torch.nn.functional.normalize(directions[truth] + noise * torch.randn(len(truth), dim, generator=g), dim=-1)
    return feats, truth.numpy()


@pytest.mark.parametrize("num_groups", [2, 5, 10])
def test_auto_recovers_the_number_of_groups(num_groups: int):
    feats, truth = separated_groups(num_groups, seed=num_groups)
    result = cluster_gaussians(feats, torch.ones(len(truth)))
    assert result.num_clusters == num_groups
    assert adjusted_rand_index(result.labels, truth) > 0.99
    assert result.choice["chosen"] == num_groups and "silhouette" in result.choice["reason"]


def test_mask_statistics_bound_the_range():
    maps = [np.array([[0, 1, 2, 3, 3]]), np.array([[4, 4, 5, 6, 7]]), np.array([[1, 1, 1, 2, 0]])]
    counts = mask_segment_counts(maps)
    assert counts.tolist() == [3, 4, 2]
    assert mask_segment_counts(maps, min_pixels=2).tolist() == [1, 1, 1]
    low, high, why = cluster_range(counts)
    assert (low, high) == (3, 8) and "median" in why
    assert cluster_range(None)[:2] == (2, 20)
    assert cluster_range(np.array([1, 1]))[0] == 2  # never fewer than 2 from the statistics


def test_never_one_cluster_where_views_label_several_segments():
    # one blob of features (nothing to separate) still gives the lower bound of the masks
    feats = torch.nn.functional.normalize(
        torch.ones(500, 16) + 0.3 * torch.randn(500, 16, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    result = cluster_gaussians(feats, torch.ones(500), segment_counts=np.array([3, 4, 3, 5]))
    assert result.num_clusters >= 3
    single = cluster_gaussians(feats, torch.ones(500), segment_counts=np.array([1, 1, 0]))
    assert single.num_clusters == 1 and "one segment" in single.choice["reason"]


def test_num_clusters_overrides_auto_and_is_kept():
    feats, truth = separated_groups(5, seed=1)
    result = cluster_gaussians(feats, torch.ones(len(truth)), num_clusters=7)
    assert result.num_clusters == 7 and "--num-clusters 7" in result.choice["reason"]  # not merged back to 5


def test_pixels_of_untrained_gaussians_get_zero():
    feats, truth = separated_groups(2, seed=0)
    result = cluster_gaussians(feats, torch.ones(len(truth)), visibility=torch.ones(len(truth)))
    assert result.trained is not None and result.trained.all()
    image = feats[:4].reshape(2, 2, 16)
    alpha = torch.ones(2, 2, 1)
    trained_weight = torch.tensor([1.0, 0.2, 0.9, 0.4]).reshape(2, 2, 1)
    labels = label_pixels(image, alpha, result, trained_weight=trained_weight)
    assert labels[0, 0] > 0 and labels[1, 0] > 0 and labels[0, 1] == 0 and labels[1, 1] == 0


def test_gaussians_under_a_pixel_are_trained_but_not_fitted():
    """Dense runs put most Gaussians under a pixel of labelled weight each: their pixels are trusted, while the
    clusters are fitted on the well-seen ones only; unseen and faint Gaussians stay untrained."""
    feats, truth = separated_groups(2, seed=0)
    n = len(truth)
    visibility = torch.full((n,), 5.0)
    visibility[: n // 2] = 0.3  # seen, under a pixel each
    visibility[:10] = 0.0  # never on a labelled pixel
    opacities = torch.ones(n)
    opacities[-10:] = 0.05  # faint
    result = cluster_gaussians(feats, opacities, visibility=visibility)
    assert result.trained is not None
    assert not result.trained[:10].any() and result.trained[10 : n // 2].all() and not result.trained[-10:].any()
    assert result.choice["fitted_gaussians"] == n - n // 2 - 10


def two_object_views(num_views: int, merged_views: int, split_views: int) -> tuple[list, list]:
    """Cluster maps and masks [8, 12] of a scene with objects A (columns 0-5, which the clustering split into
    clusters 1 and 2) and B (columns 6-11, cluster 3). Masks label A as 1 and B as 2, except ``merged_views``
    views labelling A and B as one segment and ``split_views`` views cutting A into its two halves."""
    clusters = np.zeros((8, 12), dtype=np.int32)
    clusters[:, 0:3], clusters[:, 3:6], clusters[:, 6:12] = 1, 2, 3
    cluster_maps, masks = [], []
    for v in range(num_views):
        mask = np.zeros((8, 12), dtype=np.int32)
        mask[:, 0:6], mask[:, 6:12] = 1, 2
        if v < merged_views:
            mask[:, 6:12] = 1
        elif v < merged_views + split_views:
            mask[:, 3:6] = 3
        cluster_maps.append(clusters)
        masks.append(mask)
    return cluster_maps, masks


def test_clusters_the_masks_keep_together_are_merged_and_objects_they_sometimes_merge_are_not():
    # 10 views: masks merge A and B in 4 (40%) and cut A in two in 3 (30%).
    cluster_maps, masks = two_object_views(10, merged_views=4, split_views=3)
    group, merges = merge_by_mask_votes(cluster_maps, masks + [None], 3)
    assert group.tolist() == [0, 0, 1]
    assert merges == [{"clusters": [[0], [1]], "views_together": 7, "views_both": 10}]
    # Masks that merge A and B in most views make them one object.
    group, _ = merge_by_mask_votes(*two_object_views(10, merged_views=6, split_views=0), 3)
    assert group.tolist() == [0, 0, 0]
    # A cluster on unlabelled pixels has no vote.
    unlabelled = [m.copy() for m in masks]
    for m in unlabelled:
        m[:, 6:12] = 0
    group, _ = merge_by_mask_votes(cluster_maps, unlabelled, 3)
    assert group.tolist() == [0, 0, 1]
