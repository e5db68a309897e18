"""The rain prediction module: per-view latent z_v, scene state s, camera code m -> rain layer R >= 0
(or, with ``darkening``, R = R_bright - R_dark).

State net (authors' GeneratorState): s' = tanh(W3 (ReLU(W1 [z; s]) + ReLU(W2 m))).
Rain net (authors' GeneratorRain, S2VD-style): linear + ReLU to a one-channel (``map_channels``) map at half
the generator resolution, four 3x3 convolutions (8F, 4F, 2F, 4F channels), PixelShuffle(2), a 3x3
convolution to 3 channels, ReLU; cropped to the generator resolution.

Unlike the released code (512x512 and exactly 50 views hard-coded) the generator resolution is
derived from the training images (longer side capped at ``max_side``: the output is resized to the
rendered size, which also follows the training resolution schedule), odd sizes are cropped, and
the latents are an ``nn.Embedding`` with one row per training image. The camera code is
resolution-free: flattened camera-to-world [12] + (fx/W, fy/H, cx/W, cy/H) (authors: the 4x4
projection, 16 numbers too).

As in the authors' code the latents and the scene state are not trained by the optimizer: they
are random codes, moved only by the optional Langevin E-step (``langevin``), the generator frozen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Tuple

import torch
import torch.nn.functional as F
from torch import nn

CAMERA_CODE_SIZE = 16


@dataclass
class RainPredictorConfig:
    """Sizes of the rain prediction module (authors' defaults)."""

    latent_size: int = 128
    state_size: int = 64
    state_features: int = 128
    rain_features: int = 64
    """F: the rain net's convolutions have 8F, 4F, 2F, 4F channels."""
    max_side: int = 512
    """Longest side of the generator's own resolution (the authors generate 512x512)."""
    map_channels: int = 1
    """Channels of the half-resolution map the state is first mapped to (authors: 1). 4 holds as many numbers
    as the full-resolution image (each 2x2 block as 4 channels), so a 1-px streak's position inside its 2x2
    block is in the map, not left for the small convolutions to infer."""
    darkening: bool = False
    """A second, darkening layer: R = R_bright - R_dark, both >= 0 (the generator's last convolution
    gives 6 channels instead of 3). The authors' R >= 0 can only brighten, so streaks that darken
    (rain refracting a darker background) stay in the clean render B."""


def camera_code(
    camera_to_worlds: torch.Tensor,
    fx: torch.Tensor,
    fy: torch.Tensor,
    cx: torch.Tensor,
    cy: torch.Tensor,
    width: torch.Tensor,
    height: torch.Tensor,
) -> torch.Tensor:
    """Resolution-free camera input [C, 16] from c2w [C, 3, 4] and intrinsics / size [C] (or [C, 1])."""
    c = camera_to_worlds.shape[0]
    w, h = width.reshape(c, 1).float(), height.reshape(c, 1).float()
    intrinsics = torch.cat(
        [fx.reshape(c, 1) / w, fy.reshape(c, 1) / h, cx.reshape(c, 1) / w, cy.reshape(c, 1) / h], dim=1
    )
    return torch.cat([camera_to_worlds.reshape(c, 12), intrinsics.to(camera_to_worlds)], dim=1)


def generator_size(height: int, width: int, max_side: int) -> Tuple[int, int]:
    """The generator's resolution for training images of height x width: the same, or scaled so the longer side is
    max_side."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


class RainStateNet(nn.Module):
    """s' = tanh(W3 (ReLU(W1 [z; s]) + ReLU(W2 m)))."""

    def __init__(self, latent_size: int, state_size: int, features: int) -> None:
        super().__init__()
        self.latent_state = nn.Linear(latent_size + state_size, features)
        self.camera = nn.Linear(CAMERA_CODE_SIZE, features)
        self.out = nn.Linear(features, state_size)
        for layer in (self.latent_state, self.camera, self.out):
            nn.init.xavier_normal_(layer.weight, gain=math.sqrt(2))
            nn.init.zeros_(layer.bias)

    def forward(self, z: torch.Tensor, s: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """z [B, Z], s [B, S], m [B, 16] -> next state [B, S]."""
        hidden = F.relu(self.latent_state(torch.cat([z, s], dim=-1))) + F.relu(self.camera(m))
        return torch.tanh(self.out(hidden))


class RainGenerator(nn.Module):
    """State [B, S] -> rain layers [B, C, H, W] >= 0 at the generator resolution (H, W), any H, W >= 1
    (C = ``channels``: 3, or 6 for a brightening and a darkening layer)."""

    def __init__(
        self, height: int, width: int, state_size: int, features: int, channels: int = 3, map_channels: int = 1
    ) -> None:
        super().__init__()
        self.height, self.width = height, width
        self.half_height, self.half_width = math.ceil(height / 2), math.ceil(width / 2)
        self.map_channels = map_channels
        self.to_map = nn.Linear(state_size, map_channels * self.half_height * self.half_width)
        widths = [map_channels, 8 * features, 4 * features, 2 * features, 4 * features]
        layers: list[nn.Module] = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
        layers += [nn.PixelShuffle(2), nn.Conv2d(features, channels, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.orthogonal_(m.weight)
                assert m.bias is not None  # the layers above are built with biases
                nn.init.zeros_(m.bias)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.to_map(state)).view(-1, self.map_channels, self.half_height, self.half_width)
        return self.body(x)[:, :, : self.height, : self.width]


def resize_rain(rain: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[B, C, h, w] -> [B, C, height, width] (area when shrinking, bilinear when growing; stays >= 0)."""
    if rain.shape[-2:] == (height, width):
        return rain
    shrinking = height <= rain.shape[-2] and width <= rain.shape[-1]
    if shrinking:
        return F.interpolate(rain, size=(height, width), mode="area")
    return F.interpolate(rain, size=(height, width), mode="bilinear", align_corners=False).clamp_min(0)


class RainPredictor(nn.Module):
    """Latents (one per training view), scene state, state net and rain generator."""

    state: torch.Tensor  # buffer (register_buffer below)

    def __init__(self, config: RainPredictorConfig, num_views: int, image_height: int, image_width: int) -> None:
        super().__init__()
        if num_views < 1:
            raise ValueError(f"the rain predictor needs at least one view, got {num_views}")
        self.config = config
        self.latents = nn.Embedding(num_views, config.latent_size)
        nn.init.normal_(self.latents.weight)
        self.latents.weight.requires_grad_(False)  # moved by the E-step only (authors' code)
        self.register_buffer("state", torch.randn(config.state_size))
        self.state_net = RainStateNet(config.latent_size, config.state_size, config.state_features)
        height, width = generator_size(image_height, image_width, config.max_side)
        channels = 6 if config.darkening else 3
        self.generator = RainGenerator(
            height, width, config.state_size, config.rain_features, channels, config.map_channels
        )

    @property
    def num_views(self) -> int:
        return self.latents.num_embeddings

    def generate(self, z: torch.Tensor, s: torch.Tensor, m: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Rain [B, height, width, 3] from latents z [B, Z], state s [S] and camera codes m [B, 16]
        (>= 0, or bright - dark with ``darkening``)."""
        state = self.state_net(z, s.expand(z.shape[0], -1), m)
        layers = resize_rain(self.generator(state), height, width)
        rain = layers[:, :3] - layers[:, 3:] if layers.shape[1] == 6 else layers
        return rain.permute(0, 2, 3, 1)

    def forward(self, view: torch.Tensor, m: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Rain [B, height, width, 3] of training views view [B] (long) seen by cameras m [B, 16]."""
        return self.generate(self.latents(view), self.state, m, height, width)

    def langevin(
        self,
        view: torch.Tensor,
        m: torch.Tensor,
        height: int,
        width: int,
        energy: Callable[[torch.Tensor], torch.Tensor],
        steps: int = 5,
        delta: float = 0.03,
        prior: float = 50.0,
    ) -> None:
        """E-step: Langevin updates of view's latents z [B, Z] and the scene state s with the networks frozen.

        x <- x - delta^2 / 2 (dE/dx + x / prior) (+ delta N(0, 1) for the first two steps),
        E = energy(rain [B, H, W, 3]); the authors' schedule (5 steps, delta 0.03, Gaussian prior of variance 50).
        """
        z = self.latents.weight[view].detach().clone()
        s = self.state.detach().clone()
        for k in range(steps):
            z.requires_grad_(True)
            s.requires_grad_(True)
            with torch.enable_grad():
                loss = energy(self.generate(z, s, m, height, width))
                grad_z, grad_s = torch.autograd.grad(loss, [z, s])
            with torch.no_grad():
                z = z - 0.5 * delta**2 * (grad_z + z / prior)
                s = s - 0.5 * delta**2 * (grad_s + s / prior)
                if k < steps / 3:  # noise on the first third of the steps, as the authors' code
                    z = z + delta * torch.randn_like(z)
                    s = s + delta * torch.randn_like(s)
        with torch.no_grad():
            self.latents.weight[view] = z.detach()
            self.state.copy_(s.detach())
