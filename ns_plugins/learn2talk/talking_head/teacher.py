"""The 2D teacher: per-frame lip landmarks from audio, and the loss that pulls the 3D lips to them.

Any 2D talking-face model can be a teacher (``LipTeacher``): it says which mesh vertices its
landmarks correspond to, in which camera, and predicts from the audio each frame's landmark
displacement from the speaker's rest pose, in pixels. The 3D prediction's lip vertices are
projected by the same camera (projection.py, differentiable) and compared to it.

``Lips2DTeacher`` is the teacher this project trains: a non-causal temporal convolutional network
(a 2D model may look ahead in the audio) trained on a 2D corpus of audio + tracked lip landmarks
(``DIR/2d/*.wav`` + ``*.npz`` with ``landmarks [T, L, 2]`` and ``rest [L, 2]``), no 3D.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features, num_motion_frames, read_wav
from ns_plugins.learn2talk.talking_head.checkpoint import load_checkpoint, save_checkpoint
from ns_plugins.learn2talk.talking_head.projection import FrontalCamera, project


class LipTeacher(Protocol):
    landmark_vertex_ids: torch.Tensor  # [L] mesh vertices the landmarks correspond to
    camera: FrontalCamera

    def lip_displacements(self, features: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Audio features [T a, F] -> landmark displacements from rest [T, L, 2] in pixels."""
        ...


@dataclass
class Lips2DConfig:
    num_landmarks: int
    feature_dim: int = 40
    frames_per_motion_frame: int = 2
    hidden: int = 96
    kernel: int = 5
    layers: int = 3
    pixel_scale: float = 0.1  # pixels -> network units

    def to_dict(self) -> dict:
        return asdict(self)


class Lips2DTeacher(nn.Module):
    # buffers (register_buffer below)
    landmark_vertex_ids: torch.Tensor
    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(self, cfg: Lips2DConfig, landmark_vertex_ids: torch.Tensor, camera: FrontalCamera) -> None:
        super().__init__()
        self.cfg = cfg
        self.camera = camera
        self.register_buffer("landmark_vertex_ids", landmark_vertex_ids.clone())
        self.register_buffer("feature_mean", torch.zeros(cfg.feature_dim))
        self.register_buffer("feature_std", torch.ones(cfg.feature_dim))
        a, h = cfg.frames_per_motion_frame, cfg.hidden
        self.inp = nn.Conv1d(cfg.feature_dim * a, h, 1)
        self.convs = nn.ModuleList([nn.Conv1d(h, h, cfg.kernel, padding=cfg.kernel // 2) for _ in range(cfg.layers)])
        self.out = nn.Conv1d(h, cfg.num_landmarks * 2, 1)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=1e-3))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[B, T a, F] -> [B, T, L, 2] displacements in pixels (non-causal: sees +-layers*kernel/2 frames)."""
        b, s, f = features.shape
        a = self.cfg.frames_per_motion_frame
        x = ((features - self.feature_mean) / self.feature_std).reshape(b, s // a, a * f).transpose(1, 2)
        h = nn.functional.gelu(self.inp(x))
        for conv in self.convs:
            h = h + nn.functional.gelu(conv(h))
        return self.out(h).transpose(1, 2).reshape(b, s // a, -1, 2) / self.cfg.pixel_scale

    def lip_displacements(self, features: torch.Tensor, num_frames: int) -> torch.Tensor:
        return self(features[None, : num_frames * self.cfg.frames_per_motion_frame])[0]


def load_2d_corpus(root: Path, feat: FeatureConfig) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """DIR/2d/*.wav + *.npz -> [(features [T a, F], displacements [T, L, 2])]."""
    folder = Path(root) / "2d"
    wavs = sorted(folder.glob("*.wav"))
    if not wavs:
        raise DataError(
            folder,
            "no 2D corpus (*.wav + *.npz with landmarks and rest) to train the teacher on; pass --teacher PATH or "
            "drop the teacher loss",
        )
    corpus = []
    for wav in wavs:
        npz = wav.with_suffix(".npz")
        try:
            with np.load(npz) as z:
                marks, rest = torch.from_numpy(z["landmarks"]).float(), torch.from_numpy(z["rest"]).float()
        except (OSError, KeyError, ValueError) as err:
            raise DataError(
                npz, f"unreadable landmark file ({err}); expected arrays landmarks [T, L, 2] and rest [L, 2]"
            ) from None
        audio = read_wav(wav, feat.sample_rate)
        t = min(num_motion_frames(audio.shape[0], feat), marks.shape[0])
        if t < 1:
            raise DataError(wav, "audio shorter than one motion frame")
        corpus.append((audio_features(audio, feat, t), marks[:t] - rest))
    return corpus


def teacher_loss(
    pred_vertices: torch.Tensor, template: torch.Tensor, target: torch.Tensor, teacher: LipTeacher
) -> torch.Tensor:
    """Pixel MSE between projected predicted lip displacements and the teacher's, up to a scale.

    A 2D teacher never saw this speaker, so it cannot know their articulation amplitude (speaking
    style, which the regressor's style embedding carries): its displacements are first scaled by
    the least-squares factor that best fits the prediction (clamped to [0.5, 2], not differentiated),
    so the teacher corrects the timing and shape of lip motion, not its size.
    pred_vertices [T, V, 3], template [V, 3], target [T, L, 2] (teacher's displacements) -> scalar.
    """
    ids = teacher.landmark_vertex_ids
    lips = project(pred_vertices[:, ids], teacher.camera)[0]
    rest = project(template[ids], teacher.camera)[0]
    pred = lips - rest
    scale = ((pred.detach() * target).sum() / (target * target).sum().clamp(min=1e-6)).clamp(0.5, 2.0)
    return ((pred - scale * target) ** 2).mean()


def save_teacher(path: Path, net: Lips2DTeacher) -> None:
    save_checkpoint(path, {"config": net.cfg.to_dict(), "camera": asdict(net.camera), "state": net.state_dict()})


def load_teacher(path: Path) -> Lips2DTeacher:
    """A saved 2D teacher, frozen."""
    blob = load_checkpoint(path)
    state = blob["state"]
    net = Lips2DTeacher(Lips2DConfig(**blob["config"]), state["landmark_vertex_ids"], FrontalCamera(**blob["camera"]))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)
