"""Training: the SyncNet3D expert, the 2D teacher, and the regressor with the chosen losses.

Regressor steps: a batch of whole sequences (padded), two decoder passes per step — teacher-forced
on the ground truth, then fed its own (detached) first-pass predictions as the previous frames,
which is what autoregressive inference sees — and the weighted sum of the chosen losses on both
passes (vertex, velocity) or on the second pass (sync, teacher: the frozen expert and teacher
judge what inference would produce).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.audio import FeatureConfig, audio_features
from ns_plugins.learn2talk.datasets import TalkingDataset, load_dataset
from ns_plugins.learn2talk.faceformer import FaceFormer, FaceFormerConfig
from ns_plugins.learn2talk.losses import sync_loss, velocity_loss, vertex_loss
from ns_plugins.learn2talk.projection import FrontalCamera
from ns_plugins.learn2talk.run_dir import load_syncnet, save_syncnet
from ns_plugins.learn2talk.syncnet3d import SyncNet3D, SyncNetConfig, sync_training_pairs
from ns_plugins.learn2talk.teacher import Lips2DConfig, Lips2DTeacher, load_2d_corpus, teacher_loss

LOSSES = ("vertex", "velocity", "sync", "teacher")


@dataclass
class TrainConfig:
    losses: tuple[str, ...] = ("vertex", "velocity")
    weights: dict[str, float] = field(default_factory=lambda: {"vertex": 1.0, "velocity": 1.0, "sync": 1e-4, "teacher": 1e-5})
    steps: int = 300
    batch_size: int = 4
    lr: float = 1e-3
    d_model: int = 64
    num_layers: int = 1
    syncnet_steps: int = 1000
    teacher_steps: int = 800
    seed: int = 0
    feature_kind: str = "logmel"
    wav2vec2_path: str | None = None
    fps: float = 25.0


PRESETS = {
    "cpu": TrainConfig(),
    "tiny": TrainConfig(steps=40, syncnet_steps=150, teacher_steps=40, d_model=32, batch_size=2),
}


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad()
    loss.backward()
    opt.step()


def speaker_style(speakers: list[str], speaker: str | None) -> torch.Tensor:
    """[N] one-hot of a training speaker; an unknown speaker gets the average style."""
    if speaker in speakers:
        return torch.nn.functional.one_hot(torch.tensor(speakers.index(speaker)), len(speakers)).float()
    return torch.full((len(speakers),), 1.0 / len(speakers))


def feature_stats(features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    allf = torch.cat(features)
    return allf.mean(0), allf.std(0)


def train_syncnet(feats: list[torch.Tensor], lips: list[torch.Tensor], feat: FeatureConfig, steps: int, seed: int, log: bool = True) -> SyncNet3D:
    """Contrastive training on in-sync vs shifted windows. feats [T a, F] and lips [T, L, 3] per sequence."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = SyncNet3D(SyncNetConfig(num_lip_vertices=lips[0].shape[1], feature_dim=feat.dim, frames_per_motion_frame=feat.frames_per_motion_frame))
    net.set_feature_stats(*feature_stats(feats))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    usable = [i for i, f in enumerate(lips) if f.shape[0] >= net.cfg.window + 4]
    if not usable:
        raise DataError("train split", f"every sequence is shorter than {net.cfg.window + 4} frames: too short to train the lip-sync expert")
    for step in range(steps):
        batch = [sync_training_pairs(feats[i], lips[i], net, 16, 2, 12, gen) for i in torch.tensor(usable)[torch.randint(0, len(usable), (8,), generator=gen)].tolist()]
        audio, lip, label = (torch.cat(x) for x in zip(*batch))
        logits = net.logit(net.embed_audio(audio), net.embed_lips(lip))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, label)
        optimizer_step(opt, loss)
        if log and (step + 1) % max(1, steps // 5) == 0:
            print(f"syncnet step {step + 1}/{steps} bce {loss.item():.3f}", flush=True)
    return net.eval().requires_grad_(False)


def train_teacher(corpus: list[tuple[torch.Tensor, torch.Tensor]], landmark_ids: torch.Tensor, feat: FeatureConfig, steps: int, seed: int, log: bool = True) -> Lips2DTeacher:
    """Fit the 2D teacher on (features [T a, F], displacements [T, L, 2]) pairs."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    if corpus[0][1].shape[1] != landmark_ids.shape[0]:
        raise DataError("2d/", f"the 2D corpus has {corpus[0][1].shape[1]} landmarks but the dataset has {landmark_ids.shape[0]} lip vertices")
    net = Lips2DTeacher(Lips2DConfig(num_landmarks=landmark_ids.shape[0], feature_dim=feat.dim, frames_per_motion_frame=feat.frames_per_motion_frame), landmark_ids, FrontalCamera())
    net.set_feature_stats(*feature_stats([c[0] for c in corpus]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(steps):
        loss = 0.0
        for i in torch.randint(0, len(corpus), (4,), generator=gen).tolist():
            f, d = corpus[i]
            loss = loss + ((net(f[None])[0] - d) ** 2).mean() * net.cfg.pixel_scale**2 / 4
        optimizer_step(opt, loss)
        if log and (step + 1) % max(1, steps // 5) == 0:
            print(f"teacher step {step + 1}/{steps} mse {loss.item() / net.cfg.pixel_scale**2:.3f} px^2", flush=True)
    return net.eval().requires_grad_(False)


def save_teacher(path: Path, net: Lips2DTeacher) -> None:
    torch.save({"config": net.cfg.to_dict(), "camera": asdict(net.camera), "state": net.state_dict()}, path)


def load_teacher(path: Path) -> Lips2DTeacher:
    from ns_plugins.learn2talk.run_dir import _load

    blob = _load(path)
    state = blob["state"]
    net = Lips2DTeacher(Lips2DConfig(**blob["config"]), state["landmark_vertex_ids"], FrontalCamera(**blob["camera"]))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)


def train_regressor(
    data: TalkingDataset, cfg: TrainConfig, feat: FeatureConfig, feats: list[torch.Tensor],
    syncnet: SyncNet3D | None, teacher: Lips2DTeacher | None, log: bool = True,
) -> tuple[FaceFormer, dict]:
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    seqs = data.sequences
    v = seqs[0].vertices.shape[1]
    model = FaceFormer(FaceFormerConfig(
        num_vertices=v, num_speakers=len(data.speakers), feature_dim=feat.dim, frames_per_motion_frame=feat.frames_per_motion_frame,
        d_model=cfg.d_model, num_layers=cfg.num_layers, period=int(round(feat.fps)),
    ))
    model.set_feature_stats(*feature_stats(feats))
    offsets = [(s.vertices - data.template(s.speaker)).reshape(s.num_frames, -1) for s in seqs]
    styles = [speaker_style(data.speakers, s.speaker) for s in seqs]
    targets = [teacher.lip_displacements(f, s.num_frames) for f, s in zip(feats, seqs)] if teacher is not None else None
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    w = {k: (cfg.weights.get(k, 0.0) if k in cfg.losses else 0.0) for k in LOSSES}
    scale = model.cfg.offset_scale  # vertex losses in units of 1/offset_scale (~ the mouth's motion range)
    lips = data.lip_vertex_ids
    history = []
    start = time.perf_counter()
    for step in range(cfg.steps):
        idx = torch.randint(0, len(seqs), (min(cfg.batch_size, len(seqs)),), generator=gen).tolist()
        t = max(seqs[i].num_frames for i in idx)
        a = feat.frames_per_motion_frame
        f = torch.stack([torch.nn.functional.pad(feats[i], (0, 0, 0, t * a - feats[i].shape[0])) for i in idx])
        gt = torch.stack([torch.nn.functional.pad(offsets[i], (0, 0, 0, t - offsets[i].shape[0])) for i in idx])
        mask = torch.stack([(torch.arange(t) < seqs[i].num_frames).float() for i in idx])
        style = torch.stack([styles[i] for i in idx])
        audio = model.encode_audio(f)
        pred1 = model.decode(audio, model.shift_right(gt), style)
        pred2 = model.decode(audio, model.shift_right(pred1.detach()), style)
        parts = {}
        if w["vertex"]:
            parts["vertex"] = 0.5 * (vertex_loss(pred1 * scale, gt * scale, mask) + vertex_loss(pred2 * scale, gt * scale, mask))
        if w["velocity"]:
            parts["velocity"] = 0.5 * (velocity_loss(pred1 * scale, gt * scale, mask) + velocity_loss(pred2 * scale, gt * scale, mask))
        if w["sync"] or w["teacher"]:
            sync_terms, teacher_terms = [], []
            for b, i in enumerate(idx):
                n = seqs[i].num_frames
                verts = pred2[b, :n].reshape(n, v, 3)
                if w["sync"]:
                    sync_terms.append(sync_loss(syncnet, feats[i], verts[:, lips]))
                if w["teacher"]:
                    tpl = data.template(seqs[i].speaker)
                    teacher_terms.append(teacher_loss(verts + tpl, tpl, targets[i], teacher))
            if sync_terms:
                parts["sync"] = torch.stack(sync_terms).mean()
            if teacher_terms:
                parts["teacher"] = torch.stack(teacher_terms).mean()
        loss = sum(w[k] * val for k, val in parts.items())
        if not torch.isfinite(loss):
            # the inputs are checked for NaN/inf, so this is divergence: never save a NaN model as a run
            values = ", ".join(f"{k} {float(v):g}" for k, v in parts.items())
            raise RuntimeError(f"the regressor diverged at step {step + 1} ({values}); lower the learning rate")
        optimizer_step(opt, loss)
        sched.step()
        if (step + 1) % max(1, cfg.steps // 10) == 0:
            row = {"step": step + 1, **{k: round(float(val.detach()), 5) for k, val in parts.items()}}
            history.append(row)
            if log:
                print("regressor " + " ".join(f"{k} {val}" for k, val in row.items()), flush=True)
    seconds = time.perf_counter() - start
    return model.eval(), {"history": history, "seconds": seconds, "seconds_per_step": seconds / max(cfg.steps, 1)}


def sequence_features(data: TalkingDataset, feat: FeatureConfig) -> list[torch.Tensor]:
    """Features [T a, F] of each sequence, exactly T motion frames long."""
    return [audio_features(s.audio, feat, s.num_frames) for s in data.sequences]


def train_run(
    data_dir: Path, output: Path, cfg: TrainConfig, layout: str = "auto", lip_ids: Path | None = None, upper_ids: Path | None = None,
    syncnet_path: Path | None = None, teacher_path: Path | None = None, log: bool = True,
) -> Path:
    """Everything ``ns-l2t train`` does; returns the run directory."""
    unknown = sorted(set(cfg.losses) - set(LOSSES))
    if unknown:
        raise DataError("--losses", f"unknown loss(es) {', '.join(unknown)}; choose from {', '.join(LOSSES)}")
    if not {"vertex"} & set(cfg.losses):
        raise DataError("--losses", "the vertex loss is required (the other losses refine a regressor, they do not define one)")
    feat = FeatureConfig(kind=cfg.feature_kind, fps=cfg.fps, wav2vec2_path=cfg.wav2vec2_path)
    if feat.kind == "wav2vec2":
        from ns_plugins.learn2talk.wav2vec2 import load_wav2vec2

        feat = replace(feat, wav2vec2_dim=int(load_wav2vec2(cfg.wav2vec2_path or "").config.hidden_size))
    data = load_dataset(data_dir, "train", feat, layout, lip_ids, upper_ids)
    feats = sequence_features(data, feat)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if syncnet_path is not None:
        syncnet = load_syncnet(syncnet_path).requires_grad_(False)
        if syncnet.cfg.num_lip_vertices != data.lip_vertex_ids.shape[0] or syncnet.cfg.feature_dim != feat.dim:
            raise DataError(syncnet_path, "this SyncNet3D was trained for another lip vertex set or audio features")
    else:
        lips = [(s.vertices - data.template(s.speaker))[:, data.lip_vertex_ids] for s in data.sequences]
        syncnet = train_syncnet(feats, lips, feat, cfg.syncnet_steps, cfg.seed, log)
    save_syncnet(output / "syncnet.pt", syncnet)
    teacher = None
    if "teacher" in cfg.losses:
        if teacher_path is not None:
            teacher = load_teacher(teacher_path)
        else:
            teacher = train_teacher(load_2d_corpus(data_dir, feat), data.lip_vertex_ids, feat, cfg.teacher_steps, cfg.seed, log)
        if int(teacher.landmark_vertex_ids.max()) >= data.sequences[0].vertices.shape[1]:
            raise DataError(teacher_path or data_dir, "the teacher's landmark vertices do not exist on this mesh")
        save_teacher(output / "teacher.pt", teacher)
    t_aux = time.perf_counter() - t0
    model, stats = train_regressor(data, cfg, feat, feats, syncnet, teacher, log)
    torch.save(model.state_dict(), output / "regressor.pt")
    torch.save({"templates": data.templates, "lip_vertex_ids": data.lip_vertex_ids, "upper_face_vertex_ids": data.upper_face_vertex_ids,
                "faces": data.faces, "vertex_colors": data.vertex_colors}, output / "mesh.pt")
    info = {
        "data": str(data_dir), "speakers": data.speakers, "features": asdict(feat), "regressor": model.cfg.to_dict(),
        "train": {**asdict(cfg), "losses": list(cfg.losses)}, "auxiliary_seconds": t_aux, **stats,
    }
    (output / "run.json").write_text(json.dumps(info, indent=1))
    return output


def preset(name: str, **overrides: object) -> TrainConfig:
    if name not in PRESETS:
        raise DataError("--preset", f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
