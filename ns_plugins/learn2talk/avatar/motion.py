"""Speech -> the avatar's meshes (the audio-to-vertices network), and vertex sequences from files.

No nerfstudio pipeline is loaded here, so the avatar's viewer controls can use it from inside the
model (``viewer.py``) without importing the method registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.run import load_run


def load_vertex_sequence(path: Path, num_vertices: int) -> torch.Tensor:
    """A [T, V, 3] .npy (capture coordinates) -> tensor, with one-line errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "vertex sequence does not exist")
    try:
        verts = np.load(path, allow_pickle=False)
    except Exception as err:  # not an .npy
        raise DataError(path, f"cannot be read as a .npy array ({type(err).__name__}: {err})") from None
    if verts.ndim != 3 or verts.shape[2] != 3 or verts.shape[0] < 1:
        raise DataError(path, f"vertex sequence must be a [T, V, 3] array, got shape {list(verts.shape)}")
    if verts.shape[1] != num_vertices:
        raise DataError(path, f"has {verts.shape[1]} vertices per frame but the avatar's template has {num_vertices}")
    if not np.isfinite(verts).all():
        raise DataError(path, "the vertices hold NaN or infinite values")
    return torch.from_numpy(verts.astype(np.float32))


@dataclass
class AvatarMotion:
    """Meshes predicted from speech, for the avatar."""

    vertices: torch.Tensor
    """[T, V, 3] dataparser coordinates."""
    fps: float
    sample_rate: int
    """the network's audio rate (the speech is read at it)."""


def predict_avatar_motion(
    template: torch.Tensor, capture_linear: torch.Tensor, run: Path, audio: Path, speaker: Optional[str] = None
) -> AvatarMotion:
    """Speech -> the avatar's meshes, with the audio-to-vertices network of an ``ns-l2t train`` run.

    The network's offsets from its own template are added to the avatar's ``template`` [V, 3]
    (dataparser coordinates) after ``capture_linear`` [3, 3] (the dataparser's rotation x scale),
    so a network trained on another head of the same topology drives this one.
    """
    network = load_run(Path(run))
    predicted = network.predict_wav(Path(audio), speaker)
    if predicted.shape[1] != template.shape[0]:
        raise DataError(
            run, f"the network predicts {predicted.shape[1]} vertices but the avatar's template has {template.shape[0]}"
        )
    offsets = predicted - network.template(speaker)
    vertices = template + offsets @ capture_linear.to(offsets).T
    return AvatarMotion(vertices, float(network.feature.fps), int(network.feature.sample_rate))
