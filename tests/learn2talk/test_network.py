import torch

from ns_plugins.learn2talk.talking_head.faceformer import (
    FaceFormer,
    FaceFormerConfig,
    alignment_mask,
    biased_causal_mask,
    periodic_positional_encoding,
)


def _model(v: int = 50) -> FaceFormer:
    torch.manual_seed(0)
    model = FaceFormer(FaceFormerConfig(num_vertices=v, num_speakers=3, feature_dim=8, d_model=32, period=5))
    torch.nn.init.normal_(model.out.weight, std=0.05)  # leave the zero start so outputs depend on the inputs
    return model.eval()


def test_masks():
    m = alignment_mask(4, 8, 2)
    assert m.shape == (4, 8)
    assert (~m).sum(1).tolist() == [2, 2, 2, 2]
    assert not m[2, 4] and not m[2, 5] and m[2, 3] and m[2, 6]
    b = biased_causal_mask(4, 12, 5)
    assert b.shape == (4, 12, 12)
    assert torch.isinf(b[:, 3, 4]).all() and (b[:, 4, 3] == 0).all()
    assert (b[:, 11, 0] < b[:, 11, 6]).all() and (b[:, 11, 6] < b[:, 11, 11]).all()
    assert b[0, 11, 0] < b[3, 11, 0]  # steeper slope on the first head
    pe = periodic_positional_encoding(15, 16, 5)
    assert torch.allclose(pe[0], pe[5]) and torch.allclose(pe[3], pe[13]) and not torch.allclose(pe[0], pe[1])


def test_shapes_and_zero_init_start():
    torch.manual_seed(0)
    model = FaceFormer(FaceFormerConfig(num_vertices=50, num_speakers=3, feature_dim=8, d_model=32, period=5))
    feats = torch.randn(2, 20, 8)
    style = torch.eye(3)[:2]
    out = model(feats, torch.randn(2, 10, 150), style)
    assert out.shape == (2, 10, 150) and torch.all(out == 0)  # zero-initialized output layer: the template
    pred = _model().predict(feats, style, 10)
    assert pred.shape == (2, 10, 150) and torch.isfinite(pred).all()


def test_causal_in_audio_and_motion():
    model = _model()
    torch.manual_seed(1)
    feats = torch.randn(1, 24, 8)
    style = torch.eye(3)[:1]
    base = model.predict(feats, style, 12)
    t = 6
    changed = feats.clone()
    changed[:, 2 * (t + 1) :] = torch.randn_like(changed[:, 2 * (t + 1) :]) * 3
    after = model.predict(changed, style, 12)
    assert torch.allclose(base[:, : t + 1], after[:, : t + 1], atol=1e-6)  # frames <= t do not see audio after t
    assert (base[:, t + 1 :] - after[:, t + 1 :]).abs().max() > 1e-3  # ... and later frames do
    # teacher-forced: changing the motion input of frame t+1 (frame t's offsets) leaves frames <= t alone
    prev = torch.randn(1, 12, 150)
    a = model(feats, prev, style)
    prev2 = prev.clone()
    prev2[:, t + 1 :] += 1.0
    b = model(feats, prev2, style)
    assert (
        torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6) and (a[:, t + 1 :] - b[:, t + 1 :]).abs().max() > 1e-4
    )
    # the speaker style matters
    assert (model.predict(feats, torch.eye(3)[1:2], 12) - base).abs().max() > 1e-4


def test_causal_from_raw_audio():
    from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features

    cfg = FeatureConfig(n_mels=8)
    model = _model()
    torch.manual_seed(2)
    wave = torch.randn(16000) * 0.1
    t = 10  # frame 10 covers [0.40, 0.44) s; its last audio window ends 12.5 ms into frame 11
    edge = int(16000 * (t + 1) / 25 + 0.0125 * 16000) + 1
    other = wave.clone()
    other[edge:] = torch.randn(16000 - edge)
    style = torch.eye(3)[:1]
    a = model.predict(audio_features(wave, cfg)[None], style, 25)
    b = model.predict(audio_features(other, cfg)[None], style, 25)
    assert torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6) and not torch.allclose(a, b)
