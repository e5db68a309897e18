"""``learn2talk`` avatar model: splatfacto whose Gaussians are bound to the head mesh's triangles.

``gauss_params`` holds each Gaussian's triangle-local parameters (means mu, log scales, quats,
as splatfacto names them) plus ``binding``, its parent triangle id stored as a float [N, 1]
with a learning-rate-0 optimizer: gsplat's densification splits, duplicates and prunes it with
the others, so children keep their parent's triangle, and checkpoints carry it. Splitting
samples in local coordinates, which is the world-space split mapped through the binding.

Two coordinate systems, kept apart by name:

- LOCAL (``gauss_params``, and ``local_means``/``local_scales``/``local_quats``): what the
  optimizers, the densification strategy (splits sample around the local mean with the local
  scales), the regularisers and checkpoints see. The strategy only ever gets ``gauss_params``.
- WORLD (the ``means``/``scales``/``quats`` properties, :class:`PosedGaussians`): the Gaussians
  bound to one mesh pose, computed, never stored. The base model's rasterize call and everything
  that exports or crops through these properties (``ns-export``, the crop box) gets them.

The pose is the camera's ``metadata["vertices"]`` (set per image by ``learn2talk-data``), else
``pose_vertices`` (the template until the animation or the viewer's controls set another,
``viewer.py``). ``get_outputs`` binds once per render and holds the result in ``render_pose``
for the base model's rasterize call; outside a render ``render_pose`` is None and the properties
bind on ``pose_vertices``.

Densification thresholds compare local scales, which are in units of the parent triangle's size
k: the strategy's scene scale is set to 1 / mean k so the thresholds keep their world meaning.
GaussianAvatars' regularisers keep Gaussians near their triangles (so they follow it when the
mesh moves to expressions never seen): position ``relu(|mu| - 1)`` and scale ``relu(s - 0.6)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional, Type

import torch
from nerfstudio.cameras.cameras import Cameras
from torch.nn import Parameter

from ns_plugins.learn2talk.avatar.binding import bind_gaussians, face_frames, sample_on_faces, world_to_local
from ns_plugins.learn2talk.avatar.dataparser import (
    CAPTURE_LINEAR_KEY,
    FACES_KEY,
    FRAMES_KEY,
    TEMPLATE_KEY,
    VERTICES_KEY,
)
from ns_plugins.learn2talk.avatar.viewer import AvatarViewerControls
from ns_plugins.splat.model import PortableSplatModel, PortableSplatModelConfig

BINDING_KEY = "binding"
"""gauss_params entry: parent triangle id of each Gaussian, float [N, 1] (exact below 2^24)."""


class PosedGaussians(NamedTuple):
    """World Gaussians on one mesh pose."""

    means: torch.Tensor
    """[N, 3]"""
    log_scales: torch.Tensor
    """[N, 3]"""
    quats: torch.Tensor
    """[N, 4] unit (w, x, y, z)"""


@dataclass
class AvatarModelConfig(PortableSplatModelConfig):
    """Splatfacto with Gaussians bound to mesh triangles (GaussianAvatars' binding and regularisers)."""

    _target: Type = field(default_factory=lambda: AvatarModel)
    gaussians_per_face: int = 1
    """Gaussians initialised on each triangle (uniformly random points on it)."""
    init_local_scale: float = 0.5
    """Initial standard deviation of each Gaussian, in units of its triangle's scale k."""
    init_opacity: float = 0.3
    position_loss_weight: float = 1e-2
    """GaussianAvatars' lambda_position: penalises |mu| beyond ``position_threshold``."""
    position_threshold: float = 1.0
    """Local distance (in units of k) a Gaussian may move from its triangle's centre for free."""
    scale_loss_weight: float = 1.0
    """GaussianAvatars' lambda_scaling: penalises local scales beyond ``scale_threshold``."""
    scale_threshold: float = 0.6
    num_random: int = 16
    """Splatfacto's random initialisation is replaced by Gaussians on the mesh: keep it tiny."""


class AvatarModel(PortableSplatModel):
    """See the module docstring."""

    config: AvatarModelConfig

    # buffers (register_buffer below)
    faces: torch.Tensor
    template: torch.Tensor

    def populate_modules(self) -> None:
        super().populate_modules()
        metadata = self.kwargs.get("metadata") or {}
        if TEMPLATE_KEY not in metadata or FACES_KEY not in metadata:
            raise ValueError(
                "the learn2talk avatar needs a mesh: train it on learn2talk-data (template_path, faces_path)"
            )
        self.register_buffer("faces", metadata[FACES_KEY].long().clone(), persistent=False)
        self.register_buffer("template", metadata[TEMPLATE_KEY].float().clone(), persistent=False)
        self.pose_vertices: torch.Tensor = self.template
        """[V, 3] the mesh the avatar is shown on when a camera carries none (viewer, animation)."""
        self.render_pose: Optional[PosedGaussians] = None
        """The world Gaussians of the render in progress (set and cleared by ``get_outputs``)."""
        frames = metadata.get(FRAMES_KEY, self.template[None]).float()
        self.avatar_controls = AvatarViewerControls(
            self, frames, metadata.get(CAPTURE_LINEAR_KEY, torch.eye(3)).float()
        )
        self.initialise_on_mesh()

    def initialise_on_mesh(self) -> None:
        """Gaussians on the template's triangles: local means on the face plane, isotropic, grey."""
        gen = torch.Generator().manual_seed(0)
        points, parents = sample_on_faces(self.template, self.faces, self.config.gaussians_per_face, gen)
        num = len(parents)
        dim_sh = (self.config.sh_degree + 1) ** 2
        init = {
            "means": world_to_local(points, parents, self.template, self.faces),
            "scales": torch.full((num, 3), float(torch.log(torch.tensor(self.config.init_local_scale)))),
            "quats": torch.tensor([1.0, 0.0, 0.0, 0.0]).repeat(num, 1),
            "features_dc": torch.zeros(num, 3),
            "features_rest": torch.zeros(num, dim_sh - 1, 3),
            "opacities": torch.logit(torch.full((num, 1), self.config.init_opacity)),
        }
        for name, value in init.items():
            self.gauss_params[name] = Parameter(value.to(self.template.device))
        self.gauss_params[BINDING_KEY] = Parameter(
            parents.float()[:, None].to(self.template.device), requires_grad=False
        )
        _, _, k = face_frames(self.template, self.faces)
        # thresholds on local scales: world size = k * local, so divide the scene scale by the mean k
        self.strategy_state["scene_scale"] = 1.0 / float(k.mean())

    # ---- parameters --------------------------------------------------------------------------

    @property
    def parents(self) -> torch.Tensor:
        """[N] parent triangle id of each Gaussian."""
        # detached: gsplat's densification re-creates it as trainable, but ids never get gradients
        return self.gauss_params[BINDING_KEY][:, 0].detach().round().long()

    def get_gaussian_param_groups(self) -> Dict[str, List[Parameter]]:
        groups = super().get_gaussian_param_groups()
        groups[BINDING_KEY] = [self.gauss_params[BINDING_KEY]]
        return groups

    @property
    def local_means(self) -> torch.Tensor:
        """[N, 3] means in their parent triangles' frames, in units of the triangle's scale k."""
        return self.gauss_params["means"]

    @property
    def local_scales(self) -> torch.Tensor:
        """[N, 3] log scales relative to the parent triangle's scale k."""
        return self.gauss_params["scales"]

    @property
    def local_quats(self) -> torch.Tensor:
        """[N, 4] rotations relative to the parent triangle's frame (any norm)."""
        return self.gauss_params["quats"]

    def posed_gaussians(self, vertices: Optional[torch.Tensor] = None) -> PosedGaussians:
        """The world Gaussians on ``vertices`` [V, 3] (default ``pose_vertices``)."""
        verts = self.pose_vertices.to(self.template) if vertices is None else vertices
        return PosedGaussians(
            *bind_gaussians(self.local_means, self.local_scales, self.local_quats, self.parents, verts, self.faces)
        )

    def _world(self) -> PosedGaussians:
        return self.render_pose if self.render_pose is not None else self.posed_gaussians()

    @property
    def means(self) -> torch.Tensor:
        """[N, 3] WORLD means of the current pose (the strategy works on ``gauss_params``, local)."""
        return self._world().means

    @property
    def scales(self) -> torch.Tensor:
        """[N, 3] WORLD log scales of the current pose."""
        return self._world().log_scales

    @property
    def quats(self) -> torch.Tensor:
        """[N, 4] WORLD rotations of the current pose."""
        return self._world().quats

    # ---- rendering ---------------------------------------------------------------------------

    def get_outputs(self, camera: Cameras):
        """Pose the Gaussians once on the camera's vertices (else ``pose_vertices``), then render as splatfacto."""
        verts = None
        if isinstance(camera, Cameras) and camera.metadata and VERTICES_KEY in camera.metadata:
            verts = camera.metadata[VERTICES_KEY].reshape(-1, self.template.shape[0], 3)[0].to(self.template)
        self.render_pose = self.posed_gaussians(verts)
        try:
            return super().get_outputs(camera)
        finally:
            self.render_pose = None

    # ---- losses ------------------------------------------------------------------------------

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, torch.Tensor]:
        loss_dict = super().get_loss_dict(outputs, batch, metrics_dict)
        if self.training:
            cfg = self.config
            local_means, local_scales = self.local_means, torch.exp(self.local_scales)
            if cfg.position_loss_weight > 0:
                loss_dict["position_loss"] = (
                    cfg.position_loss_weight * torch.relu(local_means.norm(dim=-1) - cfg.position_threshold).mean()
                )
            if cfg.scale_loss_weight > 0:
                loss_dict["scale_loss"] = cfg.scale_loss_weight * torch.relu(local_scales - cfg.scale_threshold).mean()
        return loss_dict
