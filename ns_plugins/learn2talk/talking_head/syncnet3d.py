"""SyncNet3D: a lip-sync expert between audio windows and 3D lip-motion windows.

Two encoders map a window of W motion frames (0.2 s at 25 fps) of audio features [W a, F] and
of lip-vertex offsets from the template [W, L, 3] to unit embeddings; their cosine, scaled by a
learned temperature, is the logit of "in sync". Trained with BCE on in-sync pairs versus pairs
whose audio window is shifted by ``min_shift``..``max_shift`` frames (Wav2Lip's SyncNet recipe,
on 3D lips). Frozen afterwards: ``sync_probability`` is the sync loss's input and
``lse`` gives the LSE-D / LSE-C scores (SyncNet's offset search).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ns_plugins.learn2talk.talking_head.checkpoint import load_checkpoint, save_checkpoint


@dataclass
class SyncNetConfig:
    num_lip_vertices: int
    feature_dim: int = 40
    frames_per_motion_frame: int = 2
    window: int = 5
    embed_dim: int = 64
    hidden: int = 128
    offset_scale: float = 10.0

    def to_dict(self) -> dict:
        return asdict(self)


def windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """[T, ...] -> [T - size + 1, size, ...] sliding windows along the first axis."""
    return x.unfold(0, size, 1).movedim(-1, 1)


class SyncNet3D(nn.Module):
    # buffers (register_buffer below)
    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(self, cfg: SyncNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        a_in = cfg.window * cfg.frames_per_motion_frame * cfg.feature_dim
        v_in = cfg.window * cfg.num_lip_vertices * 3
        self.register_buffer("feature_mean", torch.zeros(cfg.feature_dim))
        self.register_buffer("feature_std", torch.ones(cfg.feature_dim))
        self.audio_encoder = nn.Sequential(
            nn.Linear(a_in, cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, cfg.embed_dim),
        )
        self.lip_encoder = nn.Sequential(
            nn.Linear(v_in, cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, cfg.embed_dim),
        )
        self.logit_scale = nn.Parameter(torch.tensor(5.0))
        self.logit_bias = nn.Parameter(torch.tensor(0.0))

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=1e-3))

    def embed_audio(self, audio_windows: torch.Tensor) -> torch.Tensor:
        """[N, W a, F] -> [N, E] unit vectors."""
        x = (audio_windows - self.feature_mean) / self.feature_std
        return nn.functional.normalize(self.audio_encoder(x.flatten(1)), dim=-1)

    def embed_lips(self, lip_windows: torch.Tensor) -> torch.Tensor:
        """[N, W, L, 3] lip offsets -> [N, E] unit vectors."""
        return nn.functional.normalize(self.lip_encoder(lip_windows.flatten(1) * self.cfg.offset_scale), dim=-1)

    def logit(self, audio_emb: torch.Tensor, lip_emb: torch.Tensor) -> torch.Tensor:
        """[N, E], [N, E] -> [N] logits of being in sync."""
        return self.logit_scale * (audio_emb * lip_emb).sum(-1) + self.logit_bias

    def audio_windows(self, features: torch.Tensor) -> torch.Tensor:
        """Per-sequence features [T a, F] -> [T - W + 1, W a, F] (window k covers motion frames k..k+W-1)."""
        a, w = self.cfg.frames_per_motion_frame, self.cfg.window
        return windows(features, w * a)[::a]

    def sync_logits(self, features: torch.Tensor, lip_offsets: torch.Tensor) -> torch.Tensor:
        """features [T a, F], lip_offsets [T, L, 3] -> [T - W + 1] logits of aligned windows."""
        lips = windows(lip_offsets, self.cfg.window)
        audio = self.audio_windows(features)[: lips.shape[0]]
        return self.logit(self.embed_audio(audio), self.embed_lips(lips))


def sync_training_pairs(
    features: torch.Tensor,
    lip_offsets: torch.Tensor,
    net: SyncNet3D,
    count: int,
    min_shift: int,
    max_shift: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Half in-sync, half shifted pairs from one sequence -> (audio [N, W a, F], lips [N, W, L, 3], labels [N])."""
    audio = net.audio_windows(features)
    lips = windows(lip_offsets, net.cfg.window)
    n = min(audio.shape[0], lips.shape[0])
    k = torch.randint(0, n, (count,), generator=generator)
    shift = torch.randint(min_shift, max_shift + 1, (count,), generator=generator) * (
        torch.randint(0, 2, (count,), generator=generator) * 2 - 1
    )
    positive = torch.arange(count) % 2 == 0
    ka = torch.where(positive, k, k + shift)
    ka = torch.where((ka < 0) | (ka >= n), k - shift, ka)  # reflect shifts that leave the sequence
    ka = ka.clamp(0, n - 1)
    labels = (ka == k).float()
    return audio[ka], lips[k], labels


def lse(net: SyncNet3D, features: torch.Tensor, lip_offsets: torch.Tensor, max_offset: int = 10) -> tuple[float, float]:
    """LSE-D and LSE-C of one sequence (SyncNet's evaluation): features [T a, F], lips [T, L, 3].

    For each audio offset in [-max_offset, max_offset] frames, the mean embedding distance over the
    frames where every offset is valid; LSE-D is the minimum over offsets, LSE-C the median minus it.
    """
    with torch.no_grad():
        ea = net.embed_audio(net.audio_windows(features))
        ev = net.embed_lips(windows(lip_offsets, net.cfg.window))
    n = min(ea.shape[0], ev.shape[0])
    max_offset = min(max_offset, (n - 1) // 2)
    frames = torch.arange(max_offset, n - max_offset)
    dists = torch.stack([(ev[frames] - ea[frames + o]).norm(dim=-1).mean() for o in range(-max_offset, max_offset + 1)])
    best = dists.min()
    return float(best), float(dists.median() - best)


def save_syncnet(path: Path, net: SyncNet3D) -> None:
    save_checkpoint(path, {"config": net.cfg.to_dict(), "state": net.state_dict()})


def load_syncnet(path: Path) -> SyncNet3D:
    """A saved SyncNet3D, in eval mode."""
    blob = load_checkpoint(path)
    net = SyncNet3D(SyncNetConfig(**blob["config"]))
    net.load_state_dict(blob["state"])
    return net.eval()
