"""The audio-to-vertex regressor: a FaceFormer-style autoregressive transformer decoder.

- audio encoder: per-frame features (normalized) -> linear -> causal temporal convolutions, so an
  encoded audio frame only sees the past (the decoder's alignment mask then keeps the whole model
  causal in the audio),
- motion input: the previous frame's vertex offsets from the template, plus a speaker style
  embedding (one-hot -> linear); frame 0 gets the style alone,
- periodic positional encoding (period p frames) and a causal self-attention mask with ALiBi-style
  biases that grow every p frames (FaceFormer),
- cross-attention restricted by the alignment mask: motion frame t attends audio frames
  [a t, a t + a),
- a zero-initialized output layer: the network starts at the template.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class FaceFormerConfig:
    num_vertices: int
    num_speakers: int
    feature_dim: int = 40
    frames_per_motion_frame: int = 2
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 1
    ff_dim: int = 128
    period: int = 25
    audio_kernel: int = 5
    offset_scale: float = 10.0  # offsets are ~0.1 of the head size: scale to ~1 for the network

    def to_dict(self) -> dict:
        return asdict(self)


def speaker_style(speakers: list[str], speaker: str | None) -> torch.Tensor:
    """[N] one-hot style of a training speaker; an unknown speaker gets the average style."""
    if speaker in speakers:
        return torch.nn.functional.one_hot(torch.tensor(speakers.index(speaker)), len(speakers)).float()
    return torch.full((len(speakers),), 1.0 / len(speakers))


def periodic_positional_encoding(length: int, d_model: int, period: int) -> torch.Tensor:
    """[length, d_model] sinusoidal encoding of (t mod period)."""
    pos = (torch.arange(length) % period).float()[:, None]
    div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
    return pe


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """[H] geometric ALiBi slopes 2^(-8 (h+1) / H)."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / num_heads) for h in range(num_heads)])


def biased_causal_mask(num_heads: int, length: int, period: int) -> torch.Tensor:
    """[H, T, T] additive mask: -slope_h * floor((i - j) / period) for j <= i, -inf for j > i."""
    i = torch.arange(length)[:, None]
    j = torch.arange(length)[None, :]
    bias = -torch.div(i - j, period, rounding_mode="floor").clamp(min=0).float()
    mask = alibi_slopes(num_heads)[:, None, None] * bias[None]
    return mask.masked_fill((j > i)[None], float("-inf"))


def alignment_mask(num_frames: int, num_audio: int, frames_per_motion_frame: int) -> torch.Tensor:
    """[T, S] bool, True where motion frame t may NOT attend audio frame s (s outside [a t, a t + a))."""
    t = torch.arange(num_frames)[:, None]
    s = torch.arange(num_audio)[None, :]
    a = frames_per_motion_frame
    return ~((s >= a * t) & (s < a * t + a))


class CausalConv(nn.Module):
    def __init__(self, dim: int, kernel: int) -> None:
        super().__init__()
        self.pad = kernel - 1
        self.conv = nn.Conv1d(dim, dim, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, S, D] -> [B, S, D], output s depends on inputs <= s."""
        y = self.conv(nn.functional.pad(x.transpose(1, 2), (self.pad, 0)))
        return y.transpose(1, 2)


class FaceFormer(nn.Module):
    # buffers (register_buffer below)
    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(self, cfg: FaceFormerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.register_buffer("feature_mean", torch.zeros(cfg.feature_dim))
        self.register_buffer("feature_std", torch.ones(cfg.feature_dim))
        self.audio_in = nn.Linear(cfg.feature_dim, d)
        self.audio_convs = nn.ModuleList([CausalConv(d, cfg.audio_kernel) for _ in range(2)])
        self.motion_in = nn.Linear(cfg.num_vertices * 3, d)
        self.style = nn.Linear(cfg.num_speakers, d, bias=False)
        layer = nn.TransformerDecoderLayer(d, cfg.num_heads, cfg.ff_dim, dropout=0.0, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, cfg.num_layers)
        self.out = nn.Linear(d, cfg.num_vertices * 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=1e-3))

    def encode_audio(self, features: torch.Tensor) -> torch.Tensor:
        """[B, S, F] -> [B, S, D]; causal in S."""
        h = self.audio_in((features - self.feature_mean) / self.feature_std)
        for conv in self.audio_convs:
            h = h + nn.functional.gelu(conv(h))
        return h

    def embed_motion(self, prev_offsets: torch.Tensor, style: torch.Tensor, first: int = 0) -> torch.Tensor:
        """Decoder inputs of frames first.. : prev_offsets [B, T', V*3] (frame t holds frame t-1's
        offsets; frame 0 is ignored) -> [B, T', D] with style and periodic positions."""
        cfg = self.cfg
        motion = self.motion_in(prev_offsets * cfg.offset_scale)
        if first == 0:
            motion = torch.cat([torch.zeros_like(motion[:, :1]), motion[:, 1:]], 1)
        pe = periodic_positional_encoding(first + motion.shape[1], cfg.d_model, cfg.period)[first:]
        return motion + self.style(style)[:, None] + pe.to(motion)

    def attend(self, x: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Decoder inputs [B, T, D], encoded audio [B, S, D] -> hidden states [B, T, D] (causal, aligned)."""
        b, t, _ = x.shape
        cfg = self.cfg
        tgt_mask = biased_causal_mask(cfg.num_heads, t, cfg.period).to(x).repeat(b, 1, 1)
        mem_mask = alignment_mask(t, audio.shape[1], cfg.frames_per_motion_frame).to(x.device)
        return self.decoder(x, audio, tgt_mask=tgt_mask, memory_mask=mem_mask)

    def decode(self, audio: torch.Tensor, prev_offsets: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Teacher-forced step for all frames at once.

        audio [B, S, D] encoded, prev_offsets [B, T, V*3] (frame t holds frame t-1's offsets; frame 0
        is ignored), style [B, N] one-hot -> offsets [B, T, V*3].
        """
        h = self.attend(self.embed_motion(prev_offsets, style), audio)
        return self.out(h) / self.cfg.offset_scale

    def forward(self, features: torch.Tensor, prev_offsets: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """features [B, S, F], prev_offsets [B, T, V*3], style [B, N] -> offsets [B, T, V*3] (teacher forced)."""
        return self.decode(self.encode_audio(features), prev_offsets, style)

    def shift_right(self, offsets: torch.Tensor) -> torch.Tensor:
        """[B, T, V*3] offsets -> the decoder's inputs: frame t gets frame t-1's offsets."""
        return torch.cat([torch.zeros_like(offsets[:, :1]), offsets[:, :-1]], 1)

    @torch.no_grad()
    def predict(self, features: torch.Tensor, style: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Autoregressive inference: features [B, S, F], style [B, N] -> offsets [B, T, V*3].

        Same result as feeding each prediction back through ``decode``; the vertex-sized input and
        output layers run once per frame (only the small decoder sees the growing prefix)."""
        audio = self.encode_audio(features)
        b = features.shape[0]
        offsets = torch.zeros(b, num_frames, self.cfg.num_vertices * 3, device=features.device)
        inputs = self.embed_motion(offsets[:, :1], style)  # frame 0: style + position only
        for t in range(num_frames):
            h = self.attend(inputs, audio)[:, t]
            offsets[:, t] = self.out(h) / self.cfg.offset_scale
            if t + 1 < num_frames:
                inputs = torch.cat([inputs, self.embed_motion(offsets[:, t : t + 1], style, first=t + 1)], 1)
        return offsets
