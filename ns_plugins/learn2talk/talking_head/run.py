"""A trained run on disk (``ns-l2t train --output RUN``) and audio -> vertices inference from it.

RUN/run.json      configs (features, regressor), speakers, losses, weights, training figures
RUN/regressor.pt  FaceFormer state
RUN/syncnet.pt    SyncNet3D config + state (the expert used for the sync loss and LSE)
RUN/teacher.pt    the 2D teacher, when the teacher loss was used
RUN/mesh.pt       templates per speaker, lip / upper-face ids, faces and colours (renders)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features, num_motion_frames, read_wav
from ns_plugins.learn2talk.talking_head.checkpoint import load_checkpoint, save_checkpoint
from ns_plugins.learn2talk.talking_head.datasets import TalkingDataset
from ns_plugins.learn2talk.talking_head.faceformer import FaceFormer, FaceFormerConfig, speaker_style
from ns_plugins.learn2talk.talking_head.syncnet3d import SyncNet3D, load_syncnet


@dataclass
class TalkingRun:
    path: Path
    info: dict
    feature: FeatureConfig
    model: FaceFormer
    syncnet: SyncNet3D
    templates: dict[str, torch.Tensor]  # speaker -> [V, 3]
    lip_vertex_ids: torch.Tensor
    upper_face_vertex_ids: torch.Tensor
    faces: torch.Tensor | None
    vertex_colors: torch.Tensor | None

    @property
    def speakers(self) -> list[str]:
        return list(self.info["speakers"])

    def style(self, speaker: str | None) -> torch.Tensor:
        """[1, N] one-hot of a training speaker; an unknown or missing speaker gets the average style."""
        return speaker_style(self.speakers, speaker)[None]

    def template(self, speaker: str | None) -> torch.Tensor:
        if speaker in self.templates:
            return self.templates[speaker]
        return self.templates.get("*", next(iter(self.templates.values())))

    def predict(
        self,
        waveform: torch.Tensor,
        speaker: str | None = None,
        template: torch.Tensor | None = None,
        num_frames: int | None = None,
    ) -> torch.Tensor:
        """Waveform [N] at ``feature.sample_rate`` -> vertices [T, V, 3] (autoregressive)."""
        t = num_frames or num_motion_frames(waveform.shape[0], self.feature)
        feats = audio_features(waveform, self.feature, t)
        offsets = self.model.predict(feats[None], self.style(speaker), t)[0]
        tpl = self.template(speaker) if template is None else template
        return tpl + offsets.reshape(t, -1, 3)

    def predict_wav(self, path: Path, speaker: str | None = None) -> torch.Tensor:
        """A .wav file -> vertices [T, V, 3]; DataError when it is unreadable or shorter than a frame."""
        waveform = read_wav(path, self.feature.sample_rate)
        if num_motion_frames(waveform.shape[0], self.feature) < 1:
            raise DataError(
                path,
                f"audio of {waveform.shape[0] / self.feature.sample_rate * 1000:.1f} ms is shorter than one motion "
                f"frame ({1000 / self.feature.fps:.1f} ms)",
            )
        return self.predict(waveform, speaker)


def save_run(path: Path, info: dict, model: FaceFormer, data: TalkingDataset) -> None:
    """Write the regressor, the meshes of ``data`` and ``info`` (run.json, written last: it marks a complete run)."""
    save_checkpoint(path / "regressor.pt", model.state_dict())
    mesh = {
        "templates": data.templates,
        "lip_vertex_ids": data.lip_vertex_ids,
        "upper_face_vertex_ids": data.upper_face_vertex_ids,
        "faces": data.faces,
        "vertex_colors": data.vertex_colors,
    }
    save_checkpoint(path / "mesh.pt", mesh)
    (path / "run.json").write_text(json.dumps(info, indent=1))


def load_run(path: Path) -> TalkingRun:
    """Load ``ns-l2t train``'s output directory."""
    path = Path(path)
    if not (path / "run.json").exists():
        raise DataError(path, "not an ns-l2t run (no run.json): train one with ns-l2t train --output RUN")
    info = json.loads((path / "run.json").read_text())
    model = FaceFormer(FaceFormerConfig(**info["regressor"]))
    model.load_state_dict(load_checkpoint(path / "regressor.pt"))
    mesh = load_checkpoint(path / "mesh.pt")
    return TalkingRun(
        path,
        info,
        FeatureConfig(**info["features"]),
        model.eval(),
        load_syncnet(path / "syncnet.pt"),
        mesh["templates"],
        mesh["lip_vertex_ids"],
        mesh["upper_face_vertex_ids"],
        mesh.get("faces"),
        mesh.get("vertex_colors"),
    )
