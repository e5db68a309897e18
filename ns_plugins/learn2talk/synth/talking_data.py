"""``ns-l2t synth``: a synthetic talking-face dataset in the folder layout, plus a 2D corpus.

Per speaker: a head (head_mesh seed = speaker index), a voice and a speaking style
(speech_synth.Speaker). ``train/`` and ``test/`` hold held-out sequences of the same speakers.
``2d/`` is the 2D talking-face corpus for the teacher: other speakers' audio with per-frame lip
landmarks (lip vertices projected by the frontal camera), as a landmark tracker run on videos
would give; it carries no 3D.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ns_plugins.learn2talk.synth.head_mesh import deform, make_head_mesh
from ns_plugins.learn2talk.synth.speech import make_speaker, random_units, synthesize
from ns_plugins.learn2talk.talking_head.audio import SAMPLE_RATE, write_wav
from ns_plugins.learn2talk.talking_head.projection import FrontalCamera, project


def _write_ids(path: Path, ids: torch.Tensor) -> None:
    path.write_text(" ".join(str(int(i)) for i in ids) + "\n")


def write_synthetic_dataset(
    out: Path,
    seed: int = 0,
    num_speakers: int = 4,
    train_per_speaker: int = 12,
    test_per_speaker: int = 3,
    num_2d_speakers: int = 8,
    per_2d_speaker: int = 8,
    duration: tuple[float, float] = (2.5, 4.0),
    fps: float = 25.0,
    resolution: int = 32,
) -> Path:
    """Write the dataset under ``out`` and return it."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    camera = FrontalCamera()
    speakers = [f"spk{i}" for i in range(num_speakers)]
    base = make_head_mesh(resolution, 0)
    (out / "templates").mkdir(parents=True, exist_ok=True)
    np.save(out / "faces.npy", base.faces.numpy())
    np.save(out / "vertex_colors.npy", base.vertex_colors.numpy())
    _write_ids(out / "lip_vertex_ids.txt", base.lip_vertex_ids)
    _write_ids(out / "upper_face_vertex_ids.txt", base.upper_face_vertex_ids)
    meta = {
        "fps": fps,
        "sample_rate": SAMPLE_RATE,
        "speakers": speakers,
        "seed": seed,
        "generator": "ns-l2t synth",
        "camera": {"width": camera.width, "height": camera.height, "focal": camera.focal, "distance": camera.distance},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))

    meshes: dict = {}

    def sequence(speaker_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if speaker_index not in meshes:
            meshes[speaker_index] = make_head_mesh(resolution, speaker_index)
        mesh = meshes[speaker_index]
        units = random_units(rng, float(rng.uniform(*duration)))
        wave, coeffs = synthesize(units, make_speaker(speaker_index), fps, SAMPLE_RATE, rng)
        return wave, deform(mesh, coeffs)

    for i, spk in enumerate(speakers):
        meshes[i] = make_head_mesh(resolution, i)
        np.save(out / "templates" / f"{spk}.npy", meshes[i].template.numpy())
        for split, count in (("train", train_per_speaker), ("test", test_per_speaker)):
            (out / split).mkdir(exist_ok=True)
            for j in range(count):
                wave, verts = sequence(i)
                write_wav(out / split / f"{spk}__{j:03d}.wav", wave)
                np.save(out / split / f"{spk}__{j:03d}.npy", verts.numpy())
    (out / "2d").mkdir(exist_ok=True)
    for i in range(num_2d_speakers):
        index = 100 + i  # speakers the 3D data never sees
        meshes[index] = make_head_mesh(resolution, index)
        rest = project(meshes[index].template[base.lip_vertex_ids], camera)[0]
        for j in range(per_2d_speaker):
            wave, verts = sequence(index)
            name = f"v{index}__{j:03d}"
            write_wav(out / "2d" / f"{name}.wav", wave)
            lips = project(verts[:, base.lip_vertex_ids], camera)[0]
            np.savez(out / "2d" / f"{name}.npz", landmarks=lips.numpy(), rest=rest.numpy())
    return out
