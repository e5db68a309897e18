"""Viewer controls of contrastive-gc: cluster colours, click-to-select an object, export the selection.

Found by nerfstudio's viewer as public attributes of the model (a child module). Outputs added to
``get_outputs_for_camera`` (3-channel images, so the viewer's colormaps accept them):

- ``seg_clusters``: each pixel in the colour of its cluster (after "Cluster Gaussians");
- ``seg_selection``: the RGB render with the selected object tinted (after a click).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional

import numpy as np
import torch
from torch import nn

from ns_plugins.contrastive_gc.clustering import Clustering, cluster_gaussians, label_pixels
from ns_plugins.contrastive_gc.features import normalize, palette
from ns_plugins.splat.export import splat_ply_columns, write_ply

if TYPE_CHECKING:  # the model module imports this one
    from ns_plugins.contrastive_gc.model import ContrastiveGCModel

SELECT_TINT = torch.tensor([1.0, 0.2, 0.2])


def pick_gaussian(
    means: torch.Tensor,
    opacities: torch.Tensor,
    scales: torch.Tensor,
    origin: torch.Tensor,
    direction: torch.Tensor,
    min_opacity: float = 0.3,
) -> Optional[int]:
    """Index of the first opaque Gaussian hit by a ray, or None.

    Args:
        means: [N, 3]; opacities: [N] activated; scales: [N, 3] activated.
        origin, direction: [3] the click ray in world coordinates.
    """
    d = direction / direction.norm().clamp_min(1e-9)
    rel = means - origin
    t = rel @ d  # [N] distance along the ray
    dist = (rel - t[:, None] * d).norm(dim=-1)
    hit = (t > 0) & (opacities >= min_opacity) & (dist <= 2.0 * scales.amax(-1))
    if not hit.any():
        return None
    candidates = torch.nonzero(hit).squeeze(-1)
    return int(candidates[t[candidates].argmin()])


def selection_mask(features: torch.Tensor, query: torch.Tensor, threshold: float) -> torch.Tensor:
    """Which of features [..., E] have cosine similarity >= threshold with query [E] -> bool [...]."""
    return (normalize(features) @ normalize(query)) >= threshold


class SegmentationControls(nn.Module):
    """Viewer GUI state and callbacks (no parameters: nothing of it is saved)."""

    def __init__(self, model: ContrastiveGCModel) -> None:
        super().__init__()
        from nerfstudio.viewer.viewer_elements import ViewerButton, ViewerControl, ViewerSlider, ViewerText

        self._model = [model]  # a list, so the model is not registered as a child (no cycle)
        self.clustering: Optional[Clustering] = None
        self.selected_feature: Optional[torch.Tensor] = None
        self.viewer_control = ViewerControl()
        self.cluster_button = ViewerButton("Cluster Gaussians", cb_hook=self._on_cluster)
        self.threshold_slider = ViewerSlider(
            "Selection similarity", 0.85, 0.0, 1.0, 0.01, hint="cosine similarity to the clicked object's feature"
        )
        self.select_button = ViewerButton("Select object (then click)", cb_hook=self._on_select_mode)
        self.export_path = ViewerText("Selection PLY", "selection.ply", hint="file the export button writes")
        self.export_button = ViewerButton("Export selection", cb_hook=self._on_export)

    def _target_model(self) -> ContrastiveGCModel:
        # a method, not a public property: the viewer walks public attributes and would recurse
        return self._model[0]

    # ---- callbacks -----------------------------------------------------------------------

    def _on_cluster(self, _button) -> None:
        m = self._target_model()
        self.clustering = cluster_gaussians(m.seg_features, torch.sigmoid(m.opacities).reshape(-1))

    def _on_select_mode(self, _button) -> None:
        self.viewer_control.register_click_cb(self._on_click)

    def _on_click(self, click) -> None:
        self.viewer_control.unregister_click_cb(self._on_click)
        self.select_at(
            torch.tensor(click.origin, dtype=torch.float32), torch.tensor(click.direction, dtype=torch.float32)
        )
        # a scene click, unlike a GUI element, does not re-render: without this the new
        # seg_selection output shows up only when the camera next moves
        viewer = getattr(self.viewer_control, "viewer", None)
        if viewer is not None:
            viewer._trigger_rerender()

    def _on_export(self, _button) -> None:
        self.export_selection(Path(self.export_path.value))

    # ---- actions (usable without a viewer) ------------------------------------------------

    def select_at(self, origin: torch.Tensor, direction: torch.Tensor) -> Optional[int]:
        """Select the object under a ray; returns the picked Gaussian (None: nothing hit, selection cleared)."""
        m = self._target_model()
        with torch.no_grad():
            idx = pick_gaussian(
                m.means,
                torch.sigmoid(m.opacities).reshape(-1),
                torch.exp(m.scales),
                origin.to(m.means),
                direction.to(m.means),
            )
            self.selected_feature = None if idx is None else m.seg_features[idx].detach().clone()
        return idx

    def selected_gaussians(self) -> torch.Tensor:
        """[N] bool: Gaussians similar enough to the selected feature (none without a selection)."""
        m = self._target_model()
        if self.selected_feature is None:
            return torch.zeros(m.means.shape[0], dtype=torch.bool)
        with torch.no_grad():
            return selection_mask(m.seg_features, self.selected_feature, float(self.threshold_slider.value)).cpu()

    def export_selection(self, path: Path) -> int:
        """Write the selected Gaussians to ``path`` (a PLY); returns how many."""
        rows = torch.nonzero(self.selected_gaussians()).squeeze(-1)
        if len(rows) == 0:
            return 0
        write_ply(path, splat_ply_columns(self._target_model(), rows))
        return int(len(rows))

    # ---- outputs --------------------------------------------------------------------------

    def outputs(self, features: torch.Tensor, rgb: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Extra viewer images from rendered features [H, W, E] and the RGB render [H, W, 3]."""
        out: Dict[str, torch.Tensor] = {}
        if self.clustering is not None:
            acc = torch.ones(features.shape[:2] + (1,))
            labels = label_pixels(features, acc, self.clustering, 0.0)
            colors = palette(self.clustering.num_clusters + 1)
            out["seg_clusters"] = colors[torch.from_numpy(labels).long()].to(features.device)
        if self.selected_feature is not None:
            sel = selection_mask(features, self.selected_feature.to(features), float(self.threshold_slider.value))
            out["seg_selection"] = torch.where(sel[..., None], 0.5 * rgb + 0.5 * SELECT_TINT.to(rgb), 0.4 * rgb)
        return out


def cluster_colors(labels: np.ndarray) -> np.ndarray:
    """RGB [..., 3] float in [0, 1] for cluster ids [...] (0 black)."""
    return palette(int(labels.max(initial=0)) + 1).numpy()[labels]
