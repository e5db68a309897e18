import numpy as np
import torch

from ns_plugins.learn2talk.synth.head_mesh import deform, make_head_mesh
from ns_plugins.learn2talk.synth.speech import make_speaker, random_units, synthesize
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features
from ns_plugins.learn2talk.talking_head.syncnet3d import lse, sync_training_pairs
from ns_plugins.learn2talk.talking_head.train import train_syncnet


def _sequences(seed: int, count: int, mesh, feat):
    rng = np.random.default_rng(seed)
    feats, lips = [], []
    for i in range(count):
        wave, coeffs = synthesize(random_units(rng, 3.0), make_speaker(i % 3), 25, 16000, rng)
        verts = deform(mesh, coeffs)
        feats.append(audio_features(wave, feat, coeffs.shape[0]))
        lips.append((verts - mesh.template)[:, mesh.lip_vertex_ids])
    return feats, lips


def test_syncnet_separates_in_sync_from_shifted():
    torch.set_num_threads(1)
    mesh = make_head_mesh(resolution=16)
    feat = FeatureConfig()
    train_f, train_l = _sequences(0, 12, mesh, feat)
    net = train_syncnet(train_f, train_l, feat, steps=250, seed=0)
    test_f, test_l = _sequences(1, 6, mesh, feat)
    gen = torch.Generator().manual_seed(3)
    probs, labels = [], []
    for f, lip in zip(test_f, test_l):
        a, v, y = sync_training_pairs(f, lip, net, 40, 3, 12, gen)
        probs.append(torch.sigmoid(net.logit(net.embed_audio(a), net.embed_lips(v))).detach())
        labels.append(y)
    p, y = torch.cat(probs), torch.cat(labels)
    pos, neg = p[y == 1], p[y == 0]
    auc = (pos[:, None] > neg[None]).float().mean().item()
    assert auc > 0.8, auc
    assert pos.mean() > neg.mean() + 0.2
    # LSE: true lips match their audio better than lips shifted beyond the offset search
    d_true, c_true = lse(net, test_f[0], test_l[0])
    d_shift, _ = lse(net, test_f[0], test_l[0].roll(37, 0))
    assert d_true < d_shift and c_true > 0
