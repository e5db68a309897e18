import wave

import numpy as np
import pytest
import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.audio import FeatureConfig, audio_features, read_wav, resample, write_wav


def _write_pcm(path, samples: np.ndarray, rate: int, width: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.tobytes())


def test_read_any_rate_and_width(tmp_path):
    t = np.arange(44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    _write_pcm(tmp_path / "a.wav", (tone * 32767).astype("<i2"), 44100, 2)
    stereo = np.stack([tone, tone], 1)
    _write_pcm(tmp_path / "b.wav", (stereo * 2**31).astype("<i4"), 44100, 4, channels=2)
    _write_pcm(tmp_path / "c.wav", (tone * 127 + 128).astype(np.uint8), 44100, 1)
    for name in ("a", "b", "c"):
        x = read_wav(tmp_path / f"{name}.wav", 16000)
        assert abs(x.shape[0] - 16000) <= 1
        spec = torch.fft.rfft(x[1000:-1000]).abs()
        peak_hz = spec.argmax().item() * 16000 / (x.shape[0] - 2000)
        assert abs(peak_hz - 440) < 3 and 0.4 < x.abs().max() < 0.6
    y = torch.randn(16000)
    write_wav(tmp_path / "d.wav", y.clamp(-1, 1) * 0.5)
    assert torch.allclose(read_wav(tmp_path / "d.wav"), y.clamp(-1, 1) * 0.5, atol=1e-4)
    assert resample(y, 16000, 22050).shape[0] == 22050


def test_features_at_motion_rate():
    cfg = FeatureConfig()
    x = torch.randn(16000 * 2)
    f = audio_features(x, cfg)
    assert f.shape == (2 * 25 * 2, 40) and torch.isfinite(f).all()
    m = audio_features(x, FeatureConfig(kind="mfcc"))
    assert m.shape == (100, 20)
    # a tone burst in the second half shows up only in the second half's frames
    y = torch.zeros(16000)
    y[8000:] = torch.sin(2 * torch.pi * 1000 * torch.arange(8000) / 16000)
    g = audio_features(y, cfg)
    assert g[:24].max() < -10 < g[26:].max()


def test_bad_audio_is_a_one_line_error(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"not a wave file at all")
    with pytest.raises(DataError, match="junk.wav: unreadable audio"):
        read_wav(tmp_path / "junk.wav")
    with pytest.raises(DataError, match="missing.wav: audio file not found"):
        read_wav(tmp_path / "missing.wav")


def test_wav2vec2_is_local_only(tmp_path):
    cfg = FeatureConfig(kind="wav2vec2", wav2vec2_path=str(tmp_path / "no_model"))
    with pytest.raises(DataError, match="transformers|no config.json"):
        audio_features(torch.zeros(16000), cfg)
    with pytest.raises(DataError, match="unknown audio feature kind"):
        audio_features(torch.zeros(16000), FeatureConfig(kind="spectrogram"))
