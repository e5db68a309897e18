"""A tiny trained ``ns-l2t`` run (audio -> vertices on the 16-resolution head mesh) and a speech file, in ~1 s.

The head mesh at resolution 16 has the topology of the tiny avatar captures the tests train
(``generate_avatar_dataset(..., mesh_resolution=16)``), so the run can drive those avatars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

MESH_RESOLUTION = 16


def tiny_speech_run(folder: Path) -> Tuple[Path, Path]:
    """Train a 20-step regressor on a 1-speaker synthetic corpus under ``folder`` -> (run dir, a held-out .wav)."""
    from ns_plugins.learn2talk.synth.talking_data import write_synthetic_dataset
    from ns_plugins.learn2talk.talking_head.train import preset, train_run

    data = write_synthetic_dataset(
        Path(folder) / "speech_data",
        seed=0,
        num_speakers=1,
        train_per_speaker=2,
        test_per_speaker=1,
        num_2d_speakers=1,
        per_2d_speaker=1,
        duration=(1.0, 1.2),
        resolution=MESH_RESOLUTION,
    )
    run = train_run(
        preset("tiny", data, Path(folder) / "speech_run", losses=("vertex",), steps=20, syncnet_steps=2), progress=False
    )
    return run, next((data / "test").glob("*.wav"))
