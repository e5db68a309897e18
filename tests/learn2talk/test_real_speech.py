"""Real human speech (``/work/shared/data/speech``, 16 kHz mono recordings) drives ``ns-l2t animate`` end to end."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import pytest
import soundfile

from tests.cli import ns, run
from tests.learn2talk.speech_run import tiny_speech_run

SPEECH = Path("/work/shared/data/speech")
"""Twelve recordings in six languages (see its README); read in place, never copied into the repo."""
RECORDING = SPEECH / "cheetah_test_en.wav"


@pytest.mark.skipif(
    not RECORDING.is_file(), reason=f"no real speech recording at {RECORDING} (shared test data absent)"
)
def test_real_recording_animates_a_mesh_video(tmp_path: Path) -> None:
    from ns_plugins.learn2talk.talking_head.video import probe_streams

    network, _ = tiny_speech_run(tmp_path)
    out = tmp_path / "real.mp4"
    run(ns("ns-l2t"), "animate", "--run", network, "--audio", RECORDING, "--output", out, "--size", 64, cwd=tmp_path)
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == int(soundfile.info(str(RECORDING)).duration * 25)  # one mesh per 40 ms of speech
    streams = probe_streams(out)
    assert "Video: h264" in streams and "Audio: aac" in streams and "64x64" in streams
