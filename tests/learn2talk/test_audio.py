import wave

import numpy as np
import pytest
import soundfile
import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features, read_wav, resample, write_wav


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


def _speech_like(seconds: float = 1.5, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-paced test signal [N] in [-0.5, 0.5]: harmonics at 120 Hz under a 4 Hz envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * 120 * k * t + rng.uniform(0, 6)) / k for k in range(1, 20))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    x = voice * envelope + 0.01 * rng.standard_normal(t.shape)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def test_formats_give_the_features_of_the_16_bit_mono_original(tmp_path):
    """Float WAV, FLAC, 24-bit PCM, OGG and 44.1 kHz stereo give the log-mel features of the 16-bit mono original.

    Measured mean differences: float 0.0007, 44.1 kHz stereo 0.011 (resampling), Vorbis 0.15.
    """
    from ns_plugins.learn2talk.talking_head.audio import resample

    x16k = _speech_like()
    soundfile.write(tmp_path / "orig.wav", x16k, 16000, subtype="PCM_16")
    x44k = resample(torch.from_numpy(x16k), 16000, 44100).numpy()
    soundfile.write(tmp_path / "float.wav", x16k, 16000, subtype="FLOAT")
    soundfile.write(tmp_path / "pcm24.wav", x16k, 16000, subtype="PCM_24")
    soundfile.write(tmp_path / "audio.flac", x16k, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "stereo44k.wav", np.stack([x44k, x44k], 1), 44100, subtype="PCM_16")
    soundfile.write(tmp_path / "audio.ogg", x16k, 16000)  # Vorbis: lossy, so a looser bound
    cfg = FeatureConfig()
    reference = audio_features(read_wav(tmp_path / "orig.wav"), cfg)
    energy = reference.exp().sum(1)
    loud = energy > energy.max() * 1e-3  # frames with speech: log features of silence are noise-dominated
    assert loud.sum() > 20
    tolerances = {"float.wav": 0.01, "pcm24.wav": 0.01, "audio.flac": 0.01, "stereo44k.wav": 0.05, "audio.ogg": 0.4}
    for name, tolerance in tolerances.items():
        waveform = read_wav(tmp_path / name)
        assert abs(waveform.shape[0] - len(x16k)) <= 1, name
        features = audio_features(waveform, cfg, reference.shape[0] // cfg.frames_per_motion_frame)
        assert features.shape == reference.shape, name
        gap = (features - reference)[loud].abs().mean().item()  # natural-log units: 0.15 ~ 15% in power
        assert gap < tolerance, f"{name}: mean log-mel difference {gap:.4f}"


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
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(DataError, match="empty.wav: the audio file holds no samples"):
        read_wav(tmp_path / "empty.wav")
    bad = np.zeros(1600, np.float32)
    bad[100] = np.nan
    soundfile.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(DataError, match="nan.wav: the audio holds NaN or infinite samples"):
        read_wav(tmp_path / "nan.wav")


def test_wav2vec2_is_local_only(tmp_path):
    cfg = FeatureConfig(kind="wav2vec2", wav2vec2_path=str(tmp_path / "no_model"))
    with pytest.raises(DataError, match="transformers|no config.json"):
        audio_features(torch.zeros(16000), cfg)
    with pytest.raises(DataError, match="unknown audio feature kind"):
        audio_features(torch.zeros(16000), FeatureConfig(kind="spectrogram"))
