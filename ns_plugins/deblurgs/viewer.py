"""Viewer controls: an exposure-time slider and the trajectories drawn in the scene.

With "Show exposure sub-frame" on, the viewer renders the nearest training camera's trajectory
at the slider's exposure time (0 = shutter opens, 1 = closes) instead of the viewer camera:
scrub through what the sharp scene looked like during one blurry photo. "Draw trajectories"
adds each training image's sub-frame path to the scene as a polyline.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Optional

import torch
from nerfstudio.viewer.viewer_elements import ViewerButton, ViewerCheckbox, ViewerControl, ViewerSlider
from torch import nn

if TYPE_CHECKING:  # the model module imports this one
    from ns_plugins.deblurgs.model import DeblurGSModel

SCALE_RATIO = 10.0  # nerfstudio.viewer.viewer.VISER_NERFSTUDIO_SCALE_RATIO (not imported: pulls in viser's server)


def nearest_camera(position: torch.Tensor, centres: torch.Tensor) -> int:
    """Index of the centre [M, 3] closest to position [3]."""
    return int(torch.linalg.norm(centres - position, dim=-1).argmin())


class ExposureViewerControls(nn.Module):
    """Viewer elements (found by the viewer as public attributes of the model); no parameters."""

    _model_ref: weakref.ReferenceType[DeblurGSModel]

    def __init__(self, model: DeblurGSModel) -> None:
        super().__init__()
        # a weak reference, not a submodule: the model owns these controls
        object.__setattr__(self, "_model_ref", weakref.ref(model))
        self.show_subframe = ViewerCheckbox("Show exposure sub-frame", False, hint="render a training trajectory")
        self.exposure_time = ViewerSlider("Exposure time", 0.5, 0.0, 1.0, 0.01, hint="0 = shutter opens, 1 = closes")
        self.draw_button = ViewerButton("Draw trajectories", cb_hook=self._draw)
        self.viewer_control = ViewerControl()

    def pose_for(self, c2w: torch.Tensor, model) -> Optional[torch.Tensor]:
        """Sub-frame pose [1, 3, 4] to render instead of the viewer camera c2w [1, 3, 4], or None."""
        if not self.show_subframe.value or model.num_train_data == 0:
            return None
        poses = model.train_camera_to_worlds
        i = nearest_camera(c2w[0, :3, 3].to(poses), poses[:, :3, 3])
        idx = torch.tensor([i], device=poses.device)
        times = torch.tensor([[float(self.exposure_time.value)]], device=poses.device)
        with torch.no_grad():
            return model.trajectory.poses(poses[idx], idx, times)[:, 0].to(c2w)

    def _draw(self, _: ViewerButton) -> None:
        model = self._model_ref()
        server = getattr(self.viewer_control, "viser_server", None)
        if model is None or server is None:
            return
        times = torch.linspace(0, 1, 11, device=model.train_camera_to_worlds.device)
        with torch.no_grad():
            for i in range(model.num_train_data):
                idx = torch.tensor([i], device=times.device)
                path = model.trajectory.poses(model.train_camera_to_worlds[idx], idx, times[None])[0, :, :3, 3]
                points = (path * SCALE_RATIO).cpu().numpy()
                server.scene.add_spline_catmull_rom(
                    f"/deblurgs/trajectory_{i:04d}", points, line_width=2.0, color=(255, 80, 0)
                )
