"""Held-out evaluation: LVE, FDD, LSE-D / LSE-C of a run's autoregressive predictions."""

from __future__ import annotations

import time

import torch

from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features
from ns_plugins.learn2talk.talking_head.datasets import TalkingDataset
from ns_plugins.learn2talk.talking_head.metrics import lip_vertex_error, upper_face_dynamics_deviation
from ns_plugins.learn2talk.talking_head.run import TalkingRun
from ns_plugins.learn2talk.talking_head.syncnet3d import SyncNet3D, lse


def score_predictions(preds: list[torch.Tensor], data: TalkingDataset, syncnet: SyncNet3D, feat: FeatureConfig) -> dict:
    """preds [T, V, 3] per sequence of ``data`` -> mean LVE, FDD, LSE-D, LSE-C (plus LSE of the ground truth)."""
    rows = []
    for pred, seq in zip(preds, data.sequences):
        tpl = data.template(seq.speaker)
        feats = audio_features(seq.audio, feat, seq.num_frames)
        lips = data.lip_vertex_ids
        d, c = lse(syncnet, feats, pred[:, lips] - tpl[lips])
        gd, gc = lse(syncnet, feats, seq.vertices[:, lips] - tpl[lips])
        rows.append(
            {
                "lve": lip_vertex_error(pred, seq.vertices, lips),
                "fdd": upper_face_dynamics_deviation(pred, seq.vertices, tpl, data.upper_face_vertex_ids),
                "lse_d": d,
                "lse_c": c,
                "gt_lse_d": gd,
                "gt_lse_c": gc,
            }
        )
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} | {"sequences": len(rows)}


def evaluate_run(run: TalkingRun, data: TalkingDataset, syncnet: SyncNet3D | None = None) -> dict:
    """Predict every sequence autoregressively from its audio and score it."""
    preds = []
    frames = 0
    start = time.perf_counter()
    for seq in data.sequences:
        preds.append(run.predict(seq.audio, seq.speaker, data.template(seq.speaker), seq.num_frames))
        frames += seq.num_frames
    seconds = time.perf_counter() - start
    scores = score_predictions(preds, data, syncnet or run.syncnet, run.feature)
    return scores | {"inference_fps": frames / seconds}
