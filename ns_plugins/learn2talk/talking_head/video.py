"""MP4 output with the speech muxed in, through the ffmpeg binary that imageio-ffmpeg ships."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ns_plugins.learn2talk.talking_head.audio import SAMPLE_RATE, write_wav
from ns_plugins.splat.compat import ffmpeg_executable


def _ffmpeg() -> str:
    exe = ffmpeg_executable()
    if exe is None:
        raise RuntimeError(
            "no ffmpeg executable: install imageio-ffmpeg (pip install imageio-ffmpeg) or put ffmpeg on PATH"
        )
    return exe


def fit_length(waveform: torch.Tensor, length: int) -> torch.Tensor:
    """waveform [N] cut to, or padded with silence to, ``length`` samples."""
    waveform = waveform.reshape(-1)[:length]
    return torch.nn.functional.pad(waveform, (0, length - waveform.shape[0]))


def write_video_with_audio(
    frames: Iterable[np.ndarray], fps: float, waveform: torch.Tensor, output: Path, sample_rate: int = SAMPLE_RATE
) -> Path:
    """frames: uint8 [H, W, 3] (H, W even), waveform [N] -> H.264 + AAC mp4 at ``output``.

    The audio is cut or padded with silence to the video's length here rather than by ffmpeg's
    ``-shortest``, which now and then dropped a video frame from the middle of a 3-frame clip (1 run in 30).
    """
    import imageio_ffmpeg

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        silent = Path(tmp) / "video.mp4"
        writer = None
        count = 0
        for frame in frames:
            count += 1
            if writer is None:
                h, w = frame.shape[:2]
                # fps: any number; pyright infers int from imageio-ffmpeg's unannotated default
                writer = imageio_ffmpeg.write_frames(
                    str(silent),
                    (w, h),
                    fps=fps,  # pyright: ignore[reportArgumentType]
                    codec="libx264",
                    pix_fmt_out="yuv420p",
                    macro_block_size=1,
                    quality=7,
                )
                writer.send(None)
            writer.send(np.ascontiguousarray(frame))
        if writer is None:
            raise ValueError("no frames to write")
        writer.close()
        wav = Path(tmp) / "audio.wav"
        write_wav(wav, fit_length(waveform, round(count * sample_rate / fps)), sample_rate)
        cmd = [
            _ffmpeg(),
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(silent),
            "-i",
            str(wav),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "copy",
            "-c:a",
            "aac",
            str(output),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg could not mux the audio into {output}: {proc.stderr.strip()[-500:]}")
    return output


def probe_streams(path: Path) -> str:
    """ffmpeg's stream listing of a media file (to check for 'Video:' and 'Audio:')."""
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return "\n".join(line for line in proc.stderr.splitlines() if "Stream #" in line or "Duration" in line)
