"""Optional wav2vec2 speech features from a local model folder (never downloaded).

``--features wav2vec2 --wav2vec2 PATH`` with PATH a Hugging Face wav2vec2 folder (config.json +
weights) and the ``transformers`` package installed. Its 50 Hz hidden states are resampled
linearly to ``frames_per_motion_frame`` per motion frame, as FaceFormer does.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ns_plugins.data.errors import DataError

if TYPE_CHECKING:  # transformers is optional (not a dependency)
    from transformers import Wav2Vec2Model  # pyright: ignore[reportMissingImports]


@lru_cache(maxsize=2)
def load_wav2vec2(path: str) -> Wav2Vec2Model:
    """A frozen local wav2vec2 encoder; DataError when transformers or the folder is missing."""
    try:
        from transformers import Wav2Vec2Model  # pyright: ignore[reportMissingImports] (optional)
    except ImportError:
        raise DataError(
            "--wav2vec2",
            "wav2vec2 features need the transformers package (pip install transformers); the default log-mel "
            "features do not",
        ) from None
    folder = Path(path)
    if not (folder / "config.json").exists():
        raise DataError(
            folder,
            "not a local wav2vec2 model folder (no config.json); nothing is downloaded, give the folder of a saved "
            "model",
        )
    try:
        model = Wav2Vec2Model.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as err:
        raise DataError(folder, f"could not load the wav2vec2 weights ({err})") from None
    return model.eval().requires_grad_(False)


def wav2vec2_features(waveform: torch.Tensor, path: str, num_audio_frames: int) -> torch.Tensor:
    """Waveform [N] at 16 kHz -> hidden states [num_audio_frames, D] (linear resampling in time)."""
    model = load_wav2vec2(str(path))
    x = (waveform - waveform.mean()) / waveform.std().clamp(min=1e-5)  # wav2vec2's input normalisation
    with torch.no_grad():
        hidden = model(x[None].float()).last_hidden_state  # [1, S, D] at 50 Hz
    return torch.nn.functional.interpolate(
        hidden.transpose(1, 2), size=num_audio_frames, mode="linear", align_corners=True
    )[0].T
