"""The contrastive clustering loss on a rendered feature map and one view's segment map.

Per mask i (id 0 and masks under ``min_pixels`` dropped): mean feature f_i of its pixels and a
temperature phi_i = sum_j ||f_ij - f_i|| / (n_i log(n_i + 100)), x10, clipped to [0.1, 1] and
detached (the authors' code). Each pixel j of mask i is classified among all masks of the view
with logits f_j . f_k / phi_k; the loss is the cross-entropy of the true mask. Ids only group
pixels within a view, so the loss is invariant to relabelling them. Vectorised over masks.

Reduction: the authors sum over the pixels of a mask and average over masks; we average over
the pixels of a mask too, so the loss (and its pull on the shared geometry) does not grow with
the image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MaskIndex:
    """The usable masks of one segment map."""

    pixel_mask: torch.Tensor
    """[P] bool, which pixels (flattened) belong to a kept mask."""
    member: torch.Tensor
    """[Q] long, kept-mask index (0..M-1) of each kept pixel (Q = pixel_mask.sum())."""
    counts: torch.Tensor
    """[M] pixels per kept mask."""


def index_masks(segments: torch.Tensor, min_pixels: float) -> MaskIndex:
    """Group the pixels of ``segments`` [H, W] (int ids, 0 = unlabelled) into kept masks.

    Masks with fewer than ``min_pixels`` pixels and id 0 are dropped.
    """
    flat = segments.reshape(-1).long()
    ids, inverse, counts = torch.unique(flat, return_inverse=True, return_counts=True)
    keep = (ids != 0) & (counts >= min_pixels)
    new_index = torch.cumsum(keep.long(), 0) - 1  # old mask index -> kept mask index
    pixel_mask = keep[inverse]
    return MaskIndex(pixel_mask=pixel_mask, member=new_index[inverse[pixel_mask]], counts=counts[keep])


def mask_temperatures(
    features: torch.Tensor, centers: torch.Tensor, member: torch.Tensor, counts: torch.Tensor
) -> torch.Tensor:
    """Per-mask temperature phi [M] (detached) from pixel features [Q, E], mask means [M, E], membership [Q]."""
    with torch.no_grad():
        spread = torch.zeros(len(counts), device=features.device, dtype=features.dtype)
        spread.index_add_(0, member, (features - centers[member]).norm(dim=-1))
        n = counts.to(features.dtype)
        phi = spread / (n * torch.log(n + 100.0))
        return (10.0 * phi).clamp(0.1, 1.0)


def contrastive_clustering_loss(
    features: torch.Tensor, segments: torch.Tensor, min_pixels: float = 100
) -> torch.Tensor:
    """Contrastive clustering loss of a rendered feature map against one view's segments.

    Args:
        features: [H, W, E] rendered features (normalised per pixel here).
        segments: [H, W] integer segment ids of the same view (0 = unlabelled), any numbering.
        min_pixels: masks smaller than this are ignored.

    Returns:
        Scalar loss; zero (with a graph) when fewer than two masks are usable.
    """
    if features.shape[:2] != segments.shape:
        raise ValueError(f"features {tuple(features.shape)} and segments {tuple(segments.shape)} differ in size")
    index = index_masks(segments.to(features.device), min_pixels)
    num_masks = len(index.counts)
    if num_masks < 2:
        return features.sum() * 0.0
    f = F.normalize(features.reshape(-1, features.shape[-1])[index.pixel_mask], dim=-1, eps=1e-6)  # [Q, E]
    sums = torch.zeros(num_masks, f.shape[-1], device=f.device, dtype=f.dtype).index_add(0, index.member, f)
    centers = sums / index.counts[:, None].to(f.dtype)  # [M, E]
    phi = mask_temperatures(f, centers, index.member, index.counts)  # [M]
    logits = (f @ centers.T) / phi[None, :]  # [Q, M]
    per_pixel = F.cross_entropy(logits, index.member, reduction="none")  # [Q]
    per_mask = torch.zeros(num_masks, device=f.device, dtype=f.dtype).index_add(0, index.member, per_pixel)
    return (per_mask / index.counts.to(f.dtype)).mean()


def raw_id_cross_entropy(logits: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """The naive baseline: per-view ids taken as consistent class labels.

    Args:
        logits: [H, W, K] rendered per-Gaussian class logits.
        segments: [H, W] ids (0 = unlabelled, ignored); ids >= K are ignored too.

    Returns:
        Mean cross-entropy over labelled pixels (zero with a graph when there are none).
    """
    target = segments.to(logits.device).reshape(-1).long()
    valid = (target > 0) & (target < logits.shape[-1])
    if not valid.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1])[valid], target[valid])
