"""Synthetic speech whose content drives the mouth, for tests and benchmarks.

An utterance is a sequence of phoneme-like units (60-200 ms; pauses up to 350 ms):

- vowels a e i o u: a glottal harmonic series at the speaker's pitch shaped by three formants;
  each vowel has its own formants and its own mouth target (jaw open, lip round, lip spread),
- nasal m (low murmur) and stops b/p (closure silence + burst): lips pressed,
- fricatives f (lower lip to teeth) and s (spread, teeth close): band-limited noise,
- silence: mouth at rest.

Mouth coefficients follow the unit targets through a critically damped second-order response
(articulator inertia, time constant ``TAU`` s), so different sounds give different shapes with
realistic, smooth timing. Speakers differ in pitch, template shape (head_mesh seed), articulation
amplitude and habitual lip spread. Upper face: brows rise with stressed open vowels (audio
predictable), blinks are random (not predictable from audio).

``make_speaker(i, timing=True)`` also gives each speaker their own timing, as real speakers have
(the ``hard`` regime of ``ns-l2t synth``): a speaking rate, an articulator time constant (fast
speakers with sluggish articulators undershoot their targets), a lead of the mouth over the sound
(lips move before the sound they shape), and anticipatory co-articulation (a consonant takes on
the rounding or spreading of the vowel that follows it; a vowel leans towards the next vowel), so
the same sound does not map to the same shape and frame-wise audio does not fix the motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from ns_plugins.learn2talk.synth.head_mesh import BASIS_NAMES

TAU = 0.03
CONTROL_RATE = 1000  # Hz of the articulatory simulation

# name: (kind, formants Hz or noise band Hz, {basis: target})
UNITS: dict[str, tuple[str, tuple[float, ...], dict[str, float]]] = {
    "a": ("vowel", (750, 1200, 2500), {"jaw_open": 1.0, "lip_spread": 0.2}),
    "e": ("vowel", (500, 1900, 2600), {"jaw_open": 0.5, "lip_spread": 0.6}),
    "i": ("vowel", (300, 2300, 3000), {"jaw_open": 0.15, "lip_spread": 1.0}),
    "o": ("vowel", (500, 900, 2500), {"jaw_open": 0.6, "lip_round": 0.8}),
    "u": ("vowel", (320, 800, 2300), {"jaw_open": 0.25, "lip_round": 1.0}),
    "m": ("nasal", (250, 1100, 2300), {"lip_press": 1.0}),
    "b": ("stop", (200, 3000), {"lip_press": 1.0}),
    "f": ("fricative", (3500, 7500), {"jaw_open": 0.1, "lip_press": 0.5, "lip_round": -0.2}),
    "s": ("fricative", (5000, 7800), {"jaw_open": 0.12, "lip_spread": 0.4}),
    "_": ("silence", (), {}),
}
VOWELS = "aeiou"
CONSONANTS = "mbfs"


@dataclass(frozen=True)
class Speaker:
    index: int
    pitch: float  # Hz
    amplitude: float  # articulation scale
    spread_bias: float  # habitual lip spread added while speaking
    brow: float  # brow raise per stressed open vowel
    rate: float = 1.0  # speaking rate (unit durations divided by it)
    tau: float = TAU  # articulator time constant, s
    lead: float = 0.0  # s the mouth runs ahead of the sound
    coarticulation: float = 0.0  # share of the next vowel's lip shape taken on in advance (0..1)


def make_speaker(index: int, timing: bool = False) -> Speaker:
    """Speaker ``index``'s voice and style; with ``timing``, their own rate, articulator inertia,
    mouth lead and co-articulation as well (drawn from a separate stream: the voice is the same)."""
    rng = np.random.default_rng(500 + index)
    speaker = Speaker(
        index=index,
        pitch=float(rng.uniform(100, 220)),
        amplitude=float(rng.uniform(0.7, 1.3)),
        spread_bias=float(rng.uniform(-0.15, 0.25)),
        brow=float(rng.uniform(0.3, 1.0)),
    )
    if not timing:
        return speaker
    rng = np.random.default_rng(900 + index)
    return replace(
        speaker,
        rate=float(rng.uniform(0.8, 1.3)),
        tau=float(rng.uniform(0.02, 0.06)),
        lead=float(rng.uniform(0.0, 0.08)),
        coarticulation=float(rng.uniform(0.3, 0.8)),
    )


def random_units(rng: np.random.Generator, duration: float, rate: float = 1.0) -> list[tuple[str, float]]:
    """(unit, seconds) list of about ``duration`` seconds: syllables (C)V(C) with pauses, framed by
    silence; ``rate`` > 1 speaks faster (shorter units, pauses included)."""
    units: list[tuple[str, float]] = [("_", rng.uniform(0.12, 0.25))]
    total = units[0][1]
    while total < duration - 0.2:
        syllable = []
        if rng.random() < 0.7:
            syllable.append(CONSONANTS[rng.integers(len(CONSONANTS))])
        syllable.append(VOWELS[rng.integers(len(VOWELS))])
        if rng.random() < 0.3:
            syllable.append(CONSONANTS[rng.integers(len(CONSONANTS))])
        if rng.random() < 0.12:
            syllable.append("_")
        for u in syllable:
            lo, hi = {"vowel": (0.09, 0.2), "silence": (0.1, 0.35)}.get(UNITS[u][0], (0.06, 0.12))
            d = float(rng.uniform(lo, hi)) / rate
            units.append((u, d))
            total += d
    units.append(("_", max(0.12, duration - total)))
    return units


def coarticulate(
    units: list[tuple[str, float]], targets: np.ndarray, strength: float, lip_shape: list[int]
) -> np.ndarray:
    """Anticipatory co-articulation of the lip shape (rounding, spreading): each consonant moves
    ``strength`` of the way to the next vowel's lip shape, each vowel half that towards the next
    vowel; a silence ends the look-ahead. targets [U, K] per unit -> [U, K]."""
    out = targets.copy()
    next_vowel = None
    for i in range(len(units) - 1, -1, -1):
        kind = UNITS[units[i][0]][0]
        if kind == "silence":
            next_vowel = None
            continue
        if next_vowel is not None:
            share = strength if kind != "vowel" else 0.5 * strength
            out[i, lip_shape] += share * (targets[next_vowel, lip_shape] - targets[i, lip_shape])
        if kind == "vowel":
            next_vowel = i
    return out


def _critically_damped(x: np.ndarray, tau: float, rate: float) -> np.ndarray:
    """Critically damped response along axis 0 (two cascaded first-order lags: impulse response
    t / tau^2 exp(-t / tau)), starting at rest at x[0]. x [N, D] -> [N, D]."""
    t = np.arange(int(12 * tau * rate)) / rate
    h = t / tau**2 * np.exp(-t / tau) / rate
    h /= h.sum()
    padded = np.concatenate([np.repeat(x[:1], len(h), 0), x])
    return np.stack([np.convolve(padded[:, i], h)[len(h) : len(h) + len(x)] for i in range(x.shape[1])], 1)


def synthesize(
    units: list[tuple[str, float]], speaker: Speaker, fps: float, sample_rate: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (waveform [N] at sample_rate, mouth + upper-face coefficients [T, K] at fps, K = len(BASIS_NAMES))."""
    bounds = np.cumsum([0.0] + [d for _, d in units])
    duration = bounds[-1]
    n = int(round(duration * sample_rate))
    t = np.arange(n) / sample_rate
    unit_of_sample = np.clip(np.searchsorted(bounds, t, side="right") - 1, 0, len(units) - 1)

    # Source parameters per sample, ramped across unit boundaries (10 ms) to avoid clicks.
    kinds = [UNITS[u][0] for u, _ in units]
    voiced_amp = np.array([{"vowel": 1.0, "nasal": 0.35}.get(k, 0.0) for k in kinds])[unit_of_sample]
    noise_amp = np.array([{"fricative": 0.25}.get(k, 0.0) for k in kinds])[unit_of_sample]
    formants = np.array(
        [UNITS[u][1] if UNITS[u][0] in ("vowel", "nasal") else (500, 1500, 2500) for u, _ in units], dtype=np.float64
    )
    f_per_sample = formants[unit_of_sample]
    ramp = np.hanning(int(0.02 * sample_rate))
    ramp /= ramp.sum()

    def smooth(x: np.ndarray) -> np.ndarray:
        if x.ndim == 1:
            return np.convolve(x, ramp, mode="same")
        return np.stack([np.convolve(x[:, i], ramp, mode="same") for i in range(x.shape[1])], 1)

    voiced_amp, noise_amp, f_per_sample = smooth(voiced_amp), smooth(noise_amp), smooth(f_per_sample)
    # Stop bursts: 15 ms broadband noise at the end of each closure.
    for i, (u, _) in enumerate(units):
        if UNITS[u][0] == "stop":
            s = int(bounds[i + 1] * sample_rate)
            noise_amp[max(0, s - int(0.015 * sample_rate)) : s] += 0.4

    # Harmonic source with a slowly varying pitch, shaped by formant resonances.
    f0 = speaker.pitch * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)) - 0.05 * t / max(duration, 1e-3))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    n_harm = int(4000 // speaker.pitch)
    h = np.arange(1, n_harm + 1)
    freqs = f0[:, None] * h[None]  # [N, H]
    gains = np.zeros_like(freqs)
    for k, bw in enumerate((90.0, 110.0, 160.0)):
        gains += (0.8**k) * np.exp(-0.5 * ((freqs - f_per_sample[:, k : k + 1]) / bw) ** 2)
    gains *= 1.0 / np.sqrt(h)[None]
    voiced = (gains * np.sin(phase[:, None] * h[None])).sum(1)
    voiced /= np.abs(voiced).max() + 1e-9

    # Fricative noise, band-limited per unit in the frequency domain.
    noise = np.zeros(n)
    white = rng.standard_normal(n)
    spec_f = np.fft.rfftfreq(n, 1 / sample_rate)
    for band in {UNITS[u][1] for u, _ in units if UNITS[u][0] == "fricative"}:
        mask = (spec_f >= band[0]) & (spec_f <= band[1])
        filtered = np.fft.irfft(np.fft.rfft(white) * mask, n)
        sel = np.array([UNITS[u][1] == band for u, _ in units])[unit_of_sample]
        noise += filtered * sel / (filtered.std() + 1e-9)
    burst = np.fft.irfft(np.fft.rfft(white) * (spec_f > 500), n)
    stop_region = np.array([UNITS[u][0] == "stop" for u, _ in units])[unit_of_sample]
    noise = np.where(stop_region, burst / (burst.std() + 1e-9), noise)
    wave = 0.5 * voiced_amp * voiced + 0.15 * noise_amp * noise
    wave += 0.002 * rng.standard_normal(n)  # room noise
    wave = wave / max(1.0, np.abs(wave).max() / 0.9)

    # Articulation at CONTROL_RATE: unit targets -> damped response -> sampled at frame centres.
    k_idx = {name: i for i, name in enumerate(BASIS_NAMES)}
    targets = np.zeros((len(units), len(BASIS_NAMES)))
    for i, (u, _) in enumerate(units):
        for name, value in UNITS[u][2].items():
            targets[i, k_idx[name]] = value * speaker.amplitude
        if UNITS[u][0] != "silence":
            targets[i, k_idx["lip_spread"]] += speaker.spread_bias
        if u == "a":
            targets[i, k_idx["brow_raise"]] = speaker.brow
    if speaker.coarticulation > 0:
        targets = coarticulate(units, targets, speaker.coarticulation, [k_idx["lip_round"], k_idx["lip_spread"]])
    tc = np.arange(int(duration * CONTROL_RATE)) / CONTROL_RATE
    unit_c = np.clip(np.searchsorted(bounds, tc, side="right") - 1, 0, len(units) - 1)
    traj = targets[unit_c].copy()
    traj[:, k_idx["brow_raise"]] = _critically_damped(traj[:, [k_idx["brow_raise"]]], 0.08, CONTROL_RATE)[:, 0]
    mouth = [k_idx[k] for k in BASIS_NAMES if k not in ("brow_raise", "blink")]
    traj[:, mouth] = _critically_damped(traj[:, mouth], speaker.tau, CONTROL_RATE)
    # Blinks: random, ~every 1.5-4 s, 150 ms, unrelated to the audio.
    tb = rng.uniform(0.2, 1.5)
    while tb < duration:
        traj[:, k_idx["blink"]] += np.exp(-0.5 * ((tc - tb) / 0.04) ** 2)
        tb += rng.uniform(1.5, 4.0)
    num_frames = int(math.floor(duration * fps + 1e-6))
    frame_c = np.clip(((np.arange(num_frames) + 0.5) / fps * CONTROL_RATE).astype(int), 0, len(tc) - 1)
    coeffs = traj[frame_c]
    if speaker.lead > 0:  # the mouth shows at frame t what the sound reaches at t + lead
        ahead = np.clip(frame_c + int(round(speaker.lead * CONTROL_RATE)), 0, len(tc) - 1)
        coeffs[:, mouth] = traj[ahead][:, mouth]
    return torch.from_numpy(wave.astype(np.float32)), torch.from_numpy(coeffs.astype(np.float32))
