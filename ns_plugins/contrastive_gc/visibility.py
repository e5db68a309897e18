"""How much of the training views each Gaussian renders: the pixels its feature was trained on.

The contrastive loss reaches a Gaussian only through the pixels it blends into, with its blend
weight alpha * T. Gaussians that the training views never see, or see only behind others, keep
features the loss never shaped (random at initialisation); clustering them with the rest bridges
real clusters. Pixels a view's mask leaves unlabelled (0) train nothing either: weighted by the
masks, the sum counts only what the loss saw. The summed blend weight is the gradient of the rendered sum of a constant
per-Gaussian channel, so one render and one backward per view give it, on any backend.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch

from ns_plugins.splat.model import viewmats_from_camera_to_worlds


def render_channels(model, camera, channels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-Gaussian channels [N, C] alpha-blended into one camera's view -> ([H, W, C], alpha [H, W, 1]).

    Rendered at the camera's own size with the model's current Gaussians; differentiable in ``channels``.
    """
    result = model.render_gaussians(
        viewmats_from_camera_to_worlds(camera.camera_to_worlds.detach()),
        camera.get_intrinsics_matrices().reshape(-1, 3, 3),
        int(camera.width.item()),
        int(camera.height.item()),
        extra_features=channels,
    )
    return result.extra[0], result.alpha[0]


def blend_weight_sums(
    model, cameras, max_views: Optional[int] = None, pixel_weights: Optional[Sequence[Optional[torch.Tensor]]] = None
) -> torch.Tensor:
    """Per-Gaussian sum over pixels and views of its blend weight alpha * T -> [N] (units: pixels).

    Args:
        model: a PortableSplatModel (uses ``render_gaussians``).
        cameras: nerfstudio Cameras [V] (the training views); rendered at their own size.
        max_views: at most this many views, evenly spaced (None: all).
        pixel_weights: per view a [H, W] weight of each pixel (e.g. 1 where its mask labels a
            segment), or None for all pixels: counts only what the loss could train.
    """
    views = torch.arange(len(cameras))
    if max_views and len(views) > max_views:
        views = torch.linspace(0, len(cameras) - 1, max_views).round().long()
    weights = {
        i: None if pixel_weights is None or pixel_weights[i] is None else pixel_weights[i][..., None]
        for i in views.tolist()
    }
    return blend_weight_channels(model, cameras, weights, 1)[:, 0]


def blend_weight_channels(
    model, cameras, pixel_weights: Dict[int, Optional[torch.Tensor]], channels: int
) -> torch.Tensor:
    """Per-Gaussian sums of blend weight alpha * T times per-pixel weights, one sum per channel -> [N, C].

    Args:
        model: a PortableSplatModel (uses ``render_gaussians``).
        cameras: nerfstudio Cameras [V]; rendered at their own size.
        pixel_weights: view index -> [H, W, C] weights of each pixel for each channel (e.g. the one-hot
            label of each pixel: the sums are then each Gaussian's label votes), or None: 1 everywhere.
        channels: C.
    """
    num = model.means.shape[0]
    total = torch.zeros(num, channels, device=model.device)
    for i, weight in pixel_weights.items():
        camera = cameras[i : i + 1].to(model.device)
        zeros = torch.zeros(num, channels, device=model.device, requires_grad=True)
        with torch.enable_grad():
            rendered, _ = render_channels(model, camera, zeros)
            target = rendered.sum() if weight is None else (rendered * weight.to(rendered)).sum()
            (grad,) = torch.autograd.grad(target, zeros)
        total += grad
    return total.detach()
