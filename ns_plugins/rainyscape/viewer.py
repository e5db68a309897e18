"""Viewer control of rainyscape: which camera's rain the ``rain``/``rainy`` outputs show.

The viewer lists every output of the model: ``rgb`` (the clean scene), ``rain`` (the predicted rain
layer) and ``rainy`` (clean + rain). Rain exists only for training views: a viewer camera placed on
a training camera (click its frustum) shows that view's rain; with "Rain of the nearest training
view" on, any viewpoint shows the rain predicted for the nearest training camera.
"""

from __future__ import annotations

from torch import nn


class RainViewerControls(nn.Module):
    """Viewer elements (found by the viewer as public attributes of the model); no parameters."""

    def __init__(self) -> None:
        super().__init__()
        from nerfstudio.viewer.viewer_elements import ViewerCheckbox

        self.nearest_checkbox = ViewerCheckbox(
            "Rain of the nearest training view",
            False,
            hint="rain/rainy outputs: use the nearest training camera's rain layer",
        )

    @property
    def use_nearest(self) -> bool:
        return bool(self.nearest_checkbox.value)
