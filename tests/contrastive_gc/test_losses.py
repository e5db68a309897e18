"""The contrastive clustering loss and the spatial term on hand-built inputs."""

from __future__ import annotations

import torch

from ns_plugins.contrastive_gc.contrastive_loss import contrastive_clustering_loss, index_masks, raw_id_cross_entropy
from ns_plugins.contrastive_gc.spatial_loss import neighbour_indices, spatial_regularization


def stripes(h: int = 20, w: int = 30) -> torch.Tensor:
    """Segment map [h, w]: three vertical bands with ids 7, 3, 9."""
    seg = torch.empty(h, w, dtype=torch.int32)
    seg[:, :10], seg[:, 10:20], seg[:, 20:] = 7, 3, 9
    return seg


def features_for(seg: torch.Tensor, table: dict, dim: int = 8, noise: float = 0.05, seed: int = 0) -> torch.Tensor:
    """Features [h, w, dim]: table[id] per pixel plus noise."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(*seg.shape, dim)
    for i, vec in table.items():
        out[seg == i] = vec
    return out + noise * torch.randn(out.shape, generator=g)


def basis(dim: int = 8) -> dict:
    eye = torch.eye(dim)
    return {7: eye[0], 3: eye[1], 9: eye[2]}


def test_lower_when_features_agree_with_masks():
    seg = stripes()
    agree = contrastive_clustering_loss(features_for(seg, basis()), seg, min_pixels=1)
    g = torch.Generator().manual_seed(1)
    random = contrastive_clustering_loss(torch.randn(*seg.shape, 8, generator=g), seg, min_pixels=1)
    # features that disagree: left half of band 7 looks like band 3 and vice versa
    wrong = features_for(seg, basis())
    wrong[:, :5], wrong[:, 10:15] = basis()[3], basis()[7]
    disagree = contrastive_clustering_loss(wrong, seg, min_pixels=1)
    assert agree < random and agree < disagree


def test_invariant_to_permuting_ids():
    seg = stripes()
    feats = features_for(seg, basis())
    permuted = seg.clone()
    for old, new in {7: 2, 3: 11, 9: 5}.items():
        permuted[seg == old] = new
    a = contrastive_clustering_loss(feats, seg, min_pixels=1)
    b = contrastive_clustering_loss(feats, permuted, min_pixels=1)
    assert torch.allclose(a, b, atol=1e-6)


def test_ignores_id_zero_and_small_masks():
    seg = stripes()
    feats = features_for(seg, basis())
    base = contrastive_clustering_loss(feats, seg, min_pixels=50)
    # relabel part of band 9 as 0 and scribble garbage features there: no change
    seg0, feats0 = seg.clone(), feats.clone()
    seg0[:, 25:] = 0
    feats0[:, 25:] = torch.randn(feats0[:, 25:].shape)
    seg_ref, feats_ref = seg.clone(), feats.clone()
    seg_ref[:, 25:] = 0
    assert torch.allclose(
        contrastive_clustering_loss(feats0, seg0, 50), contrastive_clustering_loss(feats_ref, seg_ref, 50), atol=1e-6
    )
    # a 4-pixel mask with wrong features is dropped below min_pixels, counted above
    small_seg, small_feats = seg.clone(), feats.clone()
    small_seg[:2, :2] = 42
    small_feats[:2, :2] = basis()[3]
    assert torch.allclose(contrastive_clustering_loss(small_feats, small_seg, 50), base, atol=1e-3)
    assert not torch.allclose(contrastive_clustering_loss(small_feats, small_seg, 1), base, atol=1e-3)
    # the index never contains id 0
    index = index_masks(seg0, 1)
    assert len(index.counts) == 3 and int(index.pixel_mask.sum()) == int((seg0 != 0).sum())


def test_single_mask_gives_zero_with_gradient():
    feats = torch.randn(5, 5, 4, requires_grad=True)
    loss = contrastive_clustering_loss(feats, torch.ones(5, 5, dtype=torch.int32), 1)
    loss.backward()
    assert float(loss) == 0.0 and feats.grad is not None


def test_gradient_separates_masks():
    seg = stripes()
    feats = torch.randn(*seg.shape, 8, generator=torch.Generator().manual_seed(0)).requires_grad_()
    opt = torch.optim.Adam([feats], lr=0.05)
    first = None
    for _ in range(60):
        loss = contrastive_clustering_loss(feats, seg, 1)
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first is not None
    assert float(loss) < 0.5 * first


def test_raw_id_cross_entropy_ignores_zero():
    seg = torch.tensor([[0, 1], [2, 0]])
    logits = torch.zeros(2, 2, 4)
    logits[0, 1, 1] = logits[1, 0, 2] = 10.0
    logits[0, 0] = logits[1, 1] = torch.tensor([0.0, 0.0, 0.0, 50.0])  # unlabelled: would be wrong
    assert float(raw_id_cross_entropy(logits, seg)) < 1e-3


def test_spatial_neighbours_exclude_self():
    points = torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [10, 0, 0]])
    near, far = neighbour_indices(points, 2, 2)
    for i in range(4):
        assert i not in near[i].tolist() and i not in far[i].tolist()
    assert near[0].tolist() == [1, 2] and far[3].tolist() == [0, 1]
    assert far[0].tolist() == [3, 2]


def test_spatial_term_pulls_neighbours_and_pushes_far():
    # two well separated clusters of points; aligned features within clusters score lower
    g = torch.Generator().manual_seed(0)
    means = torch.cat([torch.randn(50, 3, generator=g) * 0.1, torch.randn(50, 3, generator=g) * 0.1 + 10])
    good = torch.cat([torch.tensor([1.0, 0]).expand(50, 2), torch.tensor([-1.0, 0]).expand(50, 2)])
    bad = torch.randn(100, 2, generator=g)
    assert spatial_regularization(means, good, 100) < spatial_regularization(means, bad, 100)
    # a lone point among others: self-similarity (cos = 1) must not count as a near neighbour
    pair = torch.tensor([[1.0, 0], [0.0, 1], [0.0, 1]])
    loss = spatial_regularization(torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), pair, 3, k_near=1, k_far=1)
    assert loss > 0
