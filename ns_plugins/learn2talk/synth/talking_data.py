"""``ns-l2t synth``: a synthetic talking-face dataset in the folder layout, plus a 2D corpus.

Per speaker: a head (head_mesh seed = speaker index), a voice and a speaking style
(speech_synth.Speaker). ``train/`` and ``test/`` hold held-out sequences of the same speakers.
``2d/`` is the 2D talking-face corpus for the teacher: other speakers' audio with per-frame lip
landmarks (lip vertices projected by the frontal camera), as a landmark tracker run on videos
would give; it carries no 3D. ``sync_eval/`` holds 3D sequences of yet other speakers, drawn from
their own random stream, for a lip-sync evaluator that shares no data with the expert used as a
loss (``bench_learn2talk.py``).

``regime="hard"``: every speaker has their own timing (speaking rate, articulator inertia, mouth
lead, co-articulation; ``speech.make_speaker(timing=True)``), and the held-out split asks for what
the training split does not show: ``unseen_speakers`` new speakers (their templates are given; their
style is not) and the training speakers at a faster rate than they trained at. 3D stays scarce
(``train_per_speaker``); the 2D corpus has more speakers, as 2D video has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Literal

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
    regime: Literal["standard", "hard"] = "standard",
    unseen_speakers: int = 2,
    eval_speakers: int = 4,
    per_eval_speaker: int = 6,
    test_rate: tuple[float, float] = (1.1, 1.4),
) -> Path:
    """Write the dataset under ``out`` and return it. ``unseen_speakers`` and ``test_rate`` (the
    training speakers' held-out rate, times their own) apply to the hard regime only."""
    if regime not in ("standard", "hard"):
        raise ValueError(f"regime must be 'standard' or 'hard', not {regime!r}")
    hard = regime == "hard"
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
        "regime": regime,
        "generator": "ns-l2t synth",
        "camera": {"width": camera.width, "height": camera.height, "focal": camera.focal, "distance": camera.distance},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))

    meshes: dict = {}

    def sequence(
        speaker_index: int, speed: float = 1.0, gen: np.random.Generator = rng
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if speaker_index not in meshes:
            meshes[speaker_index] = make_head_mesh(resolution, speaker_index)
        speaker = make_speaker(speaker_index, timing=hard)
        units = random_units(gen, float(gen.uniform(*duration)), speaker.rate * speed)
        wave, coeffs = synthesize(units, speaker, fps, SAMPLE_RATE, gen)
        return wave, deform(meshes[speaker_index], coeffs)

    def write_speaker(
        split: str, index: int, name: str, count: int, speed: Callable[[], float] = lambda: 1.0, gen=rng
    ) -> None:
        if index not in meshes:
            meshes[index] = make_head_mesh(resolution, index)
        np.save(out / "templates" / f"{name}.npy", meshes[index].template.numpy())
        (out / split).mkdir(exist_ok=True)
        for j in range(count):
            wave, verts = sequence(index, speed(), gen)
            write_wav(out / split / f"{name}__{j:03d}.wav", wave)
            np.save(out / split / f"{name}__{j:03d}.npy", verts.numpy())

    for i, spk in enumerate(speakers):
        write_speaker("train", i, spk, train_per_speaker)
        faster = (lambda: float(rng.uniform(*test_rate))) if hard else (lambda: 1.0)
        write_speaker("test", i, spk, test_per_speaker, faster)
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
    if hard:
        for i in range(unseen_speakers):
            write_speaker("test", 50 + i, f"new{i}", test_per_speaker)
    # Last and from its own stream, so the splits above are those of datasets written before it.
    eval_rng = np.random.default_rng([seed, 1])
    for i in range(eval_speakers):
        write_speaker("sync_eval", 300 + i, f"eval{i}", per_eval_speaker, gen=eval_rng)
    return out
