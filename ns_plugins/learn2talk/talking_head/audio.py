"""Audio in: any file libsndfile reads (soundfile), resampling, and log-mel / MFCC features.

Features are computed at ``frames_per_motion_frame`` audio frames per motion frame (2 by default,
as wav2vec2's 50 Hz features are to 25 fps motion), so the alignment mask of the regressor maps
motion frame t to audio frames [a t, a t + a). Each audio frame is centred on its time slot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch

from ns_plugins.data.errors import DataError

SAMPLE_RATE = 16000


def read_wav(path: Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """An audio file -> mono float waveform [N] at ``sample_rate``.

    Anything libsndfile reads: WAV (8/16/24/32-bit PCM, 32/64-bit float), FLAC, OGG/Vorbis, AIFF,
    at any rate, with any number of channels (averaged).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "audio file not found")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, TypeError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(path, f"unreadable audio ({reason}); expected WAV, FLAC or OGG") from None
    if data.size == 0:
        raise DataError(path, "the audio file holds no samples")
    if not np.isfinite(data).all():
        raise DataError(path, "the audio holds NaN or infinite samples")
    return resample(torch.from_numpy(np.ascontiguousarray(data.mean(1))), rate, sample_rate)


def write_wav(path: Path, waveform: torch.Tensor, sample_rate: int = SAMPLE_RATE) -> None:
    """Mono float waveform [N] in [-1, 1] -> 16-bit PCM .wav."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), waveform.detach().cpu().clamp(-1, 1).numpy(), sample_rate, subtype="PCM_16")


def resample(waveform: torch.Tensor, rate_in: int, rate_out: int, half_width: int = 16) -> torch.Tensor:
    """[N] at rate_in -> [round(N rate_out / rate_in)] at rate_out: windowed-sinc interpolation
    (Hann window, ``half_width`` zero crossings each side), low-passed below the lower Nyquist."""
    x = waveform.float()
    if rate_in == rate_out:
        return x
    n_out = int(round(x.shape[0] * rate_out / rate_in))
    cutoff = min(1.0, rate_out / rate_in)  # in units of the input Nyquist
    reach = int(math.ceil(half_width / cutoff))
    out = torch.empty(n_out)
    padded = torch.nn.functional.pad(x, (reach, reach + 1))
    taps = torch.arange(-reach, reach + 1)
    for lo in range(0, n_out, 8192):  # chunks bound the [chunk, taps] gather
        pos = torch.arange(lo, min(n_out, lo + 8192), dtype=torch.float64) * rate_in / rate_out
        base = pos.floor().long()
        d = (base[:, None] + taps[None]).double() - pos[:, None]  # [n, taps] input offsets
        w = (
            cutoff
            * torch.special.sinc(cutoff * d)
            * torch.where(d.abs() < reach, 0.5 + 0.5 * torch.cos(math.pi * d / reach), 0.0)
        )
        out[lo : lo + len(pos)] = (padded[base[:, None] + taps[None] + reach] * w.float()).sum(1)
    return out


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int, fmin: float = 60.0, fmax: float | None = None
) -> torch.Tensor:
    """Triangular HTK-mel filters [n_mels, n_fft // 2 + 1]."""
    fmax = fmax or sample_rate / 2

    def hz_to_mel(f: float) -> float:
        return 2595.0 * math.log10(1 + f / 700.0)

    mels = torch.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs - lo) / (mid - lo)
    down = (hi - freqs) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0)


@dataclass(frozen=True)
class FeatureConfig:
    kind: str = "logmel"  # "logmel", "mfcc" or "wav2vec2" (a local model folder, see wav2vec2.py)
    sample_rate: int = SAMPLE_RATE
    fps: float = 25.0  # motion frame rate
    frames_per_motion_frame: int = 2
    n_mels: int = 40
    n_mfcc: int = 20
    window_s: float = 0.025
    wav2vec2_path: str | None = None
    wav2vec2_dim: int = 768

    @property
    def dim(self) -> int:
        return {"logmel": self.n_mels, "mfcc": self.n_mfcc, "wav2vec2": self.wav2vec2_dim}.get(self.kind, self.n_mels)

    @property
    def hop(self) -> float:
        """Samples per audio frame (may be fractional)."""
        return self.sample_rate / (self.fps * self.frames_per_motion_frame)


def num_motion_frames(num_samples: int, cfg: FeatureConfig) -> int:
    """How many whole motion frames a waveform of ``num_samples`` covers."""
    return int(math.floor(num_samples * cfg.fps / cfg.sample_rate + 1e-6))


def audio_features(waveform: torch.Tensor, cfg: FeatureConfig, num_frames: int | None = None) -> torch.Tensor:
    """Waveform [N] -> features [T * a, D] (a = frames_per_motion_frame, T motion frames).

    Audio frame j is the ``window_s`` window centred on time (j + 0.5) * hop, so motion frame t
    (time slot [t, t+1) / fps) owns the audio frames whose centres fall inside its slot.
    """
    if num_frames is None:
        num_frames = num_motion_frames(waveform.shape[-1], cfg)
    n_audio = num_frames * cfg.frames_per_motion_frame
    if cfg.kind == "wav2vec2":
        from ns_plugins.learn2talk.talking_head.wav2vec2 import wav2vec2_features

        return wav2vec2_features(waveform, cfg.wav2vec2_path or "", n_audio)
    win = int(round(cfg.window_s * cfg.sample_rate))
    n_fft = 1 << (win - 1).bit_length()
    centres = ((torch.arange(n_audio, dtype=torch.float64) + 0.5) * cfg.hop).round().long()
    padded = torch.nn.functional.pad(waveform.float(), (n_fft, n_fft))
    starts = centres + n_fft - n_fft // 2
    idx = starts[:, None] + torch.arange(n_fft)[None]
    idx = idx.clamp(max=padded.shape[0] - 1)
    frames = padded[idx] * torch.hann_window(n_fft, periodic=True)
    power = torch.fft.rfft(frames, dim=-1).abs() ** 2
    mel = power @ mel_filterbank(n_fft, cfg.n_mels, cfg.sample_rate).T
    logmel = torch.log(mel + 1e-6)
    if cfg.kind == "logmel":
        return logmel
    if cfg.kind == "mfcc":
        n = cfg.n_mels
        k = torch.arange(cfg.n_mfcc)[:, None]
        dct = torch.cos(math.pi / n * (torch.arange(n)[None] + 0.5) * k) * math.sqrt(2.0 / n)
        return logmel @ dct.T
    raise DataError("--features", f"unknown audio feature kind {cfg.kind!r}; use logmel, mfcc or wav2vec2")
