"""Regressor losses: vertex MSE, velocity, and the SyncNet3D sync loss (teacher loss: teacher.py)."""

from __future__ import annotations

import torch

from ns_plugins.learn2talk.talking_head.syncnet3d import SyncNet3D


def vertex_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """pred, gt [B, T, V*3] (or [B, T, V, 3]), mask [B, T] valid frames -> mean squared error."""
    err = ((pred - gt) ** 2).flatten(2).mean(-1)
    return (err * mask).sum() / mask.sum().clamp(min=1)


def velocity_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of frame-to-frame differences (pred, gt [B, T, ...], mask [B, T])."""
    both = mask[:, 1:] * mask[:, :-1]
    return vertex_loss(pred[:, 1:] - pred[:, :-1], gt[:, 1:] - gt[:, :-1], both)


def sync_loss(net: SyncNet3D, features: torch.Tensor, lip_offsets: torch.Tensor) -> torch.Tensor:
    """-log P(in sync) of every window of one sequence: features [T a, F], lip_offsets [T, L, 3]."""
    logits = net.sync_logits(features, lip_offsets)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
