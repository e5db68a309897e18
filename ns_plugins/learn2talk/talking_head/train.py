"""Training: the SyncNet3D expert, the 2D teacher, and the regressor with the chosen losses.

Regressor steps: a batch of whole sequences (padded), two decoder passes per step — teacher-forced
on the ground truth, then fed its own (detached) first-pass predictions as the previous frames,
which is what autoregressive inference sees — and the weighted sum of the chosen losses on both
passes (vertex, velocity) or on the second pass (sync, teacher: the frozen expert and teacher
judge what inference would produce).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator, Literal, Optional, Tuple, cast

import torch
import tyro
from nerfstudio.utils.rich_utils import CONSOLE
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, audio_features
from ns_plugins.learn2talk.talking_head.datasets import TalkingDataset, load_dataset
from ns_plugins.learn2talk.talking_head.faceformer import FaceFormer, FaceFormerConfig, speaker_style
from ns_plugins.learn2talk.talking_head.losses import sync_loss, velocity_loss, vertex_loss
from ns_plugins.learn2talk.talking_head.projection import FrontalCamera
from ns_plugins.learn2talk.talking_head.run import save_run
from ns_plugins.learn2talk.talking_head.syncnet3d import (
    SyncNet3D,
    SyncNetConfig,
    load_syncnet,
    save_syncnet,
    sync_training_pairs,
)
from ns_plugins.learn2talk.talking_head.teacher import (
    Lips2DConfig,
    Lips2DTeacher,
    load_2d_corpus,
    load_teacher,
    save_teacher,
    teacher_loss,
)

LOSSES = ("vertex", "velocity", "sync", "teacher")


@dataclass
class TrainConfig:
    """``ns-l2t train``: SyncNet3D, the 2D teacher (if its loss is used) and the regressor, saved as a run folder.

    The defaults are the ``cpu`` preset's; ``--preset tiny`` starts from :data:`PRESETS` ``["tiny"]``
    instead. Any flag given on the command line is the value used.
    """

    data: Path
    """Dataset folder (folder layout, VOCASET or BIWI; see ``datasets.py``)."""
    output: Path
    """Run folder to write (run.json, regressor.pt, syncnet.pt, teacher.pt, mesh.pt)."""
    preset: Literal["cpu", "tiny"] = "cpu"
    """Which preset the other defaults come from: cpu (minutes on a CPU) or tiny (tests)."""
    losses: Tuple[str, ...] = ("vertex", "velocity")
    """Losses of the regressor: vertex (required), velocity, sync, teacher (space or comma separated)."""
    weight_vertex: float = 1.0
    """Weight of the vertex MSE (teacher-forced and self-fed passes)."""
    weight_velocity: float = 1.0
    """Weight of the frame-to-frame velocity MSE."""
    weight_sync: float = 1e-4
    """Weight of the SyncNet3D loss (1 - sync probability of the predicted lips)."""
    weight_teacher: float = 1e-5
    """Weight of the 2D teacher's projected lip-landmark loss (pixels^2)."""
    steps: int = 300
    """Regressor steps."""
    batch_size: int = 4
    """Sequences per regressor step."""
    lr: float = 1e-3
    """Adam learning rate of the regressor (cosine decay to 5%)."""
    d_model: int = 64
    """Width of the regressor's transformer."""
    num_layers: int = 1
    """Decoder layers of the regressor."""
    syncnet_steps: int = 1000
    """Steps of the SyncNet3D expert (unless --syncnet reuses one)."""
    teacher_steps: int = 800
    """Steps of the 2D teacher (unless --teacher reuses one)."""
    seed: int = 0
    """Seed of the networks' initialisation and batch sampling."""
    fps: float = 25.0
    """Motion frame rate (VOCASET: 30)."""
    features: Literal["logmel", "mfcc", "wav2vec2"] = "logmel"
    """Audio features."""
    wav2vec2: Optional[Path] = None
    """A local wav2vec2 model folder for --features wav2vec2 (needs transformers; never downloaded)."""
    layout: Literal["auto", "folder", "vocaset", "biwi"] = "auto"
    """Dataset layout (auto: detected)."""
    lip_ids: Optional[Path] = None
    """Lip vertex index file (default: the dataset's)."""
    upper_ids: Optional[Path] = None
    """Upper-face vertex index file (default: the dataset's)."""
    syncnet: Optional[Path] = None
    """Reuse a trained SyncNet3D (syncnet.pt of another run) instead of training one."""
    teacher: Optional[Path] = None
    """Reuse a trained 2D teacher (teacher.pt of another run) instead of training one."""

    @property
    def loss_names(self) -> Tuple[str, ...]:
        """The losses, with comma-separated entries (``--losses vertex,sync``) split."""
        return tuple(name.strip() for entry in self.losses for name in entry.split(",") if name.strip())

    @property
    def weights(self) -> dict[str, float]:
        """Weight of each loss in use (0 for the others)."""
        return {k: (getattr(self, f"weight_{k}") if k in self.loss_names else 0.0) for k in LOSSES}

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(
            kind=self.features, fps=self.fps, wav2vec2_path=str(self.wav2vec2) if self.wav2vec2 else None
        )


PRESETS = {
    "cpu": TrainConfig(data=tyro.MISSING, output=tyro.MISSING, preset="cpu"),
    "tiny": TrainConfig(
        data=tyro.MISSING,
        output=tyro.MISSING,
        preset="tiny",
        steps=40,
        syncnet_steps=150,
        teacher_steps=40,
        d_model=32,
        batch_size=2,
    ),
}
"""Defaults per preset; ``data`` and ``output`` stay required (``tyro.MISSING``): the caller gives them."""


def preset(name: str, data: Path, output: Path, **overrides: object) -> TrainConfig:
    """The ``name`` preset for ``data`` -> ``output`` with ``overrides`` (None values ignored)."""
    if name not in PRESETS:
        raise DataError("--preset", f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(
        PRESETS[name], data=Path(data), output=Path(output), **{k: v for k, v in overrides.items() if v is not None}
    )


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar on nerfstudio's console (one task per training stage); a no-op when disabled."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=CONSOLE, disable=not enabled) as bar:
        yield bar


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad()
    loss.backward()
    opt.step()


def feature_stats(features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    allf = torch.cat(features)
    return allf.mean(0), allf.std(0)


def train_syncnet(
    feats: list[torch.Tensor],
    lips: list[torch.Tensor],
    feat: FeatureConfig,
    steps: int,
    seed: int,
    bar: Optional[Progress] = None,
) -> SyncNet3D:
    """Contrastive training on in-sync vs shifted windows. feats [T a, F] and lips [T, L, 3] per sequence."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = SyncNetConfig(
        num_lip_vertices=lips[0].shape[1], feature_dim=feat.dim, frames_per_motion_frame=feat.frames_per_motion_frame
    )
    net = SyncNet3D(cfg)
    net.set_feature_stats(*feature_stats(feats))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    usable = torch.tensor([i for i, f in enumerate(lips) if f.shape[0] >= net.cfg.window + 4])
    if len(usable) == 0:
        raise DataError(
            "train split",
            f"every sequence is shorter than {net.cfg.window + 4} frames: too short to train the lip-sync expert",
        )
    task = bar.add_task("SyncNet3D", total=steps, status="") if bar is not None else None
    for _ in range(steps):
        picked = usable[torch.randint(0, len(usable), (8,), generator=gen)].tolist()
        audio, lip, label = (
            torch.cat(x) for x in zip(*[sync_training_pairs(feats[i], lips[i], net, 16, 2, 12, gen) for i in picked])
        )
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            net.logit(net.embed_audio(audio), net.embed_lips(lip)), label
        )
        optimizer_step(opt, loss)
        if bar is not None and task is not None:
            bar.update(task, advance=1, status=f"bce {loss.item():.3f}")
    return net.eval().requires_grad_(False)


def train_teacher(
    corpus: list[tuple[torch.Tensor, torch.Tensor]],
    landmark_ids: torch.Tensor,
    feat: FeatureConfig,
    steps: int,
    seed: int,
    bar: Optional[Progress] = None,
) -> Lips2DTeacher:
    """Fit the 2D teacher on (features [T a, F], displacements [T, L, 2]) pairs."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    if corpus[0][1].shape[1] != landmark_ids.shape[0]:
        raise DataError(
            "2d/",
            f"the 2D corpus has {corpus[0][1].shape[1]} landmarks but the dataset has {landmark_ids.shape[0]} lip "
            "vertices",
        )
    cfg = Lips2DConfig(
        num_landmarks=landmark_ids.shape[0], feature_dim=feat.dim, frames_per_motion_frame=feat.frames_per_motion_frame
    )
    net = Lips2DTeacher(cfg, landmark_ids, FrontalCamera())
    net.set_feature_stats(*feature_stats([c[0] for c in corpus]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    task = bar.add_task("2D teacher", total=steps, status="") if bar is not None else None
    for _ in range(steps):
        loss = torch.zeros(())
        for i in torch.randint(0, len(corpus), (4,), generator=gen).tolist():
            f, d = corpus[i]
            loss = loss + ((net(f[None])[0] - d) ** 2).mean() * net.cfg.pixel_scale**2 / 4
        optimizer_step(opt, loss)
        if bar is not None and task is not None:
            bar.update(task, advance=1, status=f"mse {loss.item() / net.cfg.pixel_scale**2:.3f} px^2")
    return net.eval().requires_grad_(False)


def train_regressor(
    data: TalkingDataset,
    cfg: TrainConfig,
    feat: FeatureConfig,
    feats: list[torch.Tensor],
    syncnet: SyncNet3D | None,
    teacher: Lips2DTeacher | None,
    bar: Optional[Progress] = None,
) -> tuple[FaceFormer, dict]:
    """The FaceFormer regressor trained with ``cfg``'s losses -> (model in eval mode, {history, seconds,
    seconds_per_step})."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    seqs = data.sequences
    v = seqs[0].vertices.shape[1]
    model = FaceFormer(
        FaceFormerConfig(
            num_vertices=v,
            num_speakers=len(data.speakers),
            feature_dim=feat.dim,
            frames_per_motion_frame=feat.frames_per_motion_frame,
            d_model=cfg.d_model,
            num_layers=cfg.num_layers,
            period=int(round(feat.fps)),
        )
    )
    model.set_feature_stats(*feature_stats(feats))
    offsets = [(s.vertices - data.template(s.speaker)).reshape(s.num_frames, -1) for s in seqs]
    styles = [speaker_style(data.speakers, s.speaker) for s in seqs]
    targets = [teacher.lip_displacements(f, s.num_frames) for f, s in zip(feats, seqs)] if teacher is not None else None
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    w = cfg.weights
    scale = model.cfg.offset_scale  # vertex losses in units of 1/offset_scale (~ the mouth's motion range)
    lips = data.lip_vertex_ids
    history = []
    task = bar.add_task("regressor", total=cfg.steps, status="") if bar is not None else None
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
            parts["vertex"] = 0.5 * (
                vertex_loss(pred1 * scale, gt * scale, mask) + vertex_loss(pred2 * scale, gt * scale, mask)
            )
        if w["velocity"]:
            parts["velocity"] = 0.5 * (
                velocity_loss(pred1 * scale, gt * scale, mask) + velocity_loss(pred2 * scale, gt * scale, mask)
            )
        if w["sync"] or w["teacher"]:
            sync_terms, teacher_terms = [], []
            for b, i in enumerate(idx):
                n = seqs[i].num_frames
                verts = pred2[b, :n].reshape(n, v, 3)
                if w["sync"]:
                    assert syncnet is not None  # given whenever the sync loss has a weight
                    sync_terms.append(sync_loss(syncnet, feats[i], verts[:, lips]))
                if w["teacher"]:
                    assert teacher is not None and targets is not None  # given whenever the teacher loss has a weight
                    tpl = data.template(seqs[i].speaker)
                    teacher_terms.append(teacher_loss(verts + tpl, tpl, targets[i], teacher))
            if sync_terms:
                parts["sync"] = torch.stack(sync_terms).mean()
            if teacher_terms:
                parts["teacher"] = torch.stack(teacher_terms).mean()
        loss = cast(torch.Tensor, sum(w[k] * val for k, val in parts.items()))  # some loss has a weight
        if not torch.isfinite(loss):
            # the inputs are checked for NaN/inf, so this is divergence: never save a NaN model as a run
            values = ", ".join(f"{k} {float(v):g}" for k, v in parts.items())
            raise RuntimeError(f"the regressor diverged at step {step + 1} ({values}); lower the learning rate")
        optimizer_step(opt, loss)
        sched.step()
        if (step + 1) % max(1, cfg.steps // 10) == 0:
            history.append({"step": step + 1, **{k: round(float(val.detach()), 5) for k, val in parts.items()}})
        if bar is not None and task is not None:
            bar.update(task, advance=1, status=" ".join(f"{k} {float(val.detach()):.4f}" for k, val in parts.items()))
    seconds = time.perf_counter() - start
    return model.eval(), {"history": history, "seconds": seconds, "seconds_per_step": seconds / max(cfg.steps, 1)}


def sequence_features(data: TalkingDataset, feat: FeatureConfig) -> list[torch.Tensor]:
    """Features [T a, F] of each sequence, exactly T motion frames long."""
    return [audio_features(s.audio, feat, s.num_frames) for s in data.sequences]


def check_losses(cfg: TrainConfig) -> None:
    """Known loss names, the vertex loss among them."""
    unknown = sorted(set(cfg.loss_names) - set(LOSSES))
    if unknown:
        raise DataError("--losses", f"unknown loss(es) {', '.join(unknown)}; choose from {', '.join(LOSSES)}")
    if "vertex" not in cfg.loss_names:
        raise DataError(
            "--losses", "the vertex loss is required (the other losses refine a regressor, they do not define one)"
        )


def train_run(cfg: TrainConfig, progress: bool = True) -> Path:
    """Everything ``ns-l2t train`` does; returns the run directory ``cfg.output``."""
    check_losses(cfg)
    feat = cfg.feature_config()
    if feat.kind == "wav2vec2":
        from ns_plugins.learn2talk.talking_head.wav2vec2 import load_wav2vec2

        feat = replace(feat, wav2vec2_dim=int(load_wav2vec2(feat.wav2vec2_path or "").config.hidden_size))
    data = load_dataset(cfg.data, "train", feat, cfg.layout, cfg.lip_ids, cfg.upper_ids)
    feats = sequence_features(data, feat)
    output = Path(cfg.output)
    output.mkdir(parents=True, exist_ok=True)
    with progress_bar(progress) as bar:
        t0 = time.perf_counter()
        if cfg.syncnet is not None:
            syncnet = load_syncnet(cfg.syncnet).requires_grad_(False)
            if syncnet.cfg.num_lip_vertices != data.lip_vertex_ids.shape[0] or syncnet.cfg.feature_dim != feat.dim:
                raise DataError(cfg.syncnet, "this SyncNet3D was trained for another lip vertex set or audio features")
        else:
            syncnet = train_syncnet(feats, data.lip_offsets(), feat, cfg.syncnet_steps, cfg.seed, bar)
        save_syncnet(output / "syncnet.pt", syncnet)
        teacher = None
        if "teacher" in cfg.loss_names:
            if cfg.teacher is not None:
                teacher = load_teacher(cfg.teacher)
            else:
                teacher = train_teacher(
                    load_2d_corpus(cfg.data, feat), data.lip_vertex_ids, feat, cfg.teacher_steps, cfg.seed, bar
                )
            if int(teacher.landmark_vertex_ids.max()) >= data.sequences[0].vertices.shape[1]:
                raise DataError(cfg.teacher or cfg.data, "the teacher's landmark vertices do not exist on this mesh")
            save_teacher(output / "teacher.pt", teacher)
        t_aux = time.perf_counter() - t0
        model, stats = train_regressor(data, cfg, feat, feats, syncnet, teacher, bar)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    info = {
        "data": str(cfg.data),
        "speakers": data.speakers,
        "features": asdict(feat),
        "regressor": model.cfg.to_dict(),
        "train": {**config, "losses": list(cfg.loss_names), "weights": cfg.weights},
        "auxiliary_seconds": t_aux,
        **stats,
    }
    save_run(output, info, model, data)
    return output
