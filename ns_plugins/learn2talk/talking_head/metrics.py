"""Talking-face metrics: LVE, FDD (vertices), LSE-D / LSE-C (syncnet3d.lse)."""

from __future__ import annotations

import torch


def lip_vertex_error(pred: torch.Tensor, gt: torch.Tensor, lip_ids: torch.Tensor) -> float:
    """LVE: mean over frames of the max over lip vertices of the squared L2 error. pred, gt [T, V, 3]."""
    err = ((pred[:, lip_ids] - gt[:, lip_ids]) ** 2).sum(-1)
    return float(err.max(-1).values.mean())


def upper_face_dynamics_deviation(
    pred: torch.Tensor, gt: torch.Tensor, template: torch.Tensor, upper_ids: torch.Tensor
) -> float:
    """FDD (CodeTalker): mean over upper-face vertices of the temporal std of the squared
    displacement from the template, ground truth minus prediction (positive: too still).
    pred, gt [T, V, 3], template [V, 3]."""

    def dynamics(v: torch.Tensor) -> torch.Tensor:
        return ((v[:, upper_ids] - template[upper_ids]) ** 2).sum(-1).std(0).mean()

    return float(dynamics(gt) - dynamics(pred))
