"""The mp4 writer keeps every frame and fits the audio to the video's length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ns_plugins.learn2talk.talking_head.video import fit_length, write_video_with_audio


def test_fit_length_cuts_or_pads_with_silence() -> None:
    wave = torch.arange(1.0, 6.0)
    assert torch.equal(fit_length(wave, 3), torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(fit_length(wave, 7), torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0]))


def test_every_frame_reaches_the_video(tmp_path: Path) -> None:
    """Three flat frames, audio longer and shorter than the video: all three frames come back, in order. With
    ffmpeg's -shortest doing the cut, the middle frame was dropped in 1 run of 30."""
    import imageio_ffmpeg

    frames = [np.full((16, 16, 3), value, np.uint8) for value in (50, 150, 250)]
    for trial, seconds in enumerate([0.06, 0.2] * 4):
        wave = 0.3 * torch.sin(2 * torch.pi * 220.0 * torch.arange(int(16000 * seconds)) / 16000.0)
        out = write_video_with_audio(frames, 25, wave, tmp_path / f"clip{trial}.mp4", 16000)
        decoded = [np.frombuffer(f, np.uint8).mean() for f in list(imageio_ffmpeg.read_frames(str(out)))[1:]]
        assert np.allclose(decoded, [50, 150, 250], atol=3), (trial, decoded)
