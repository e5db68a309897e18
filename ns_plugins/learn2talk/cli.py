"""``ns-l2t``: synthetic data, training, evaluation and animation of speech-driven 3D faces.

    ns-l2t synth   --out DIR --seed S
    ns-l2t train   --data DIR --output RUN [--losses vertex,velocity,sync,teacher] [--preset cpu]
    ns-l2t eval    --run RUN --data DIR --split test --json OUT
    ns-l2t animate --run RUN --audio x.wav --output mesh.mp4 [--speaker spk0]
    ns-l2t animate --load-config AVATAR/config.yml --run RUN --audio x.wav --output avatar.mp4
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional, Union

from ns_plugins.data.errors import DataError, exits_on_data_error


@dataclass
class Synth:
    """Write a synthetic talking-face dataset (folder layout, train/test + 2d corpus)."""

    out: Path
    seed: int = 0
    speakers: int = 4
    train_per_speaker: int = 12
    test_per_speaker: int = 3
    speakers_2d: int = 8
    per_speaker_2d: int = 8
    min_seconds: float = 2.5
    max_seconds: float = 4.0
    fps: float = 25.0
    resolution: int = 32
    """head mesh resolution: (r - 1) * 2r + 2 vertices"""


@dataclass
class Train:
    """Train SyncNet3D, the 2D teacher (if used) and the regressor."""

    data: Path
    output: Path
    losses: str = "vertex,velocity"
    """comma-separated: vertex, velocity, sync, teacher"""
    preset: str = "cpu"
    """cpu (minutes on a CPU) or tiny (tests)"""
    steps: Optional[int] = None
    syncnet_steps: Optional[int] = None
    teacher_steps: Optional[int] = None
    weight_vertex: Optional[float] = None
    weight_velocity: Optional[float] = None
    weight_sync: Optional[float] = None
    weight_teacher: Optional[float] = None
    seed: Optional[int] = None
    fps: Optional[float] = None
    features: Optional[str] = None
    """logmel, mfcc or wav2vec2"""
    wav2vec2: Optional[Path] = None
    """a local wav2vec2 model folder for --features wav2vec2 (needs transformers; never downloaded)"""
    layout: str = "auto"
    """auto, folder, vocaset or biwi"""
    lip_ids: Optional[Path] = None
    upper_ids: Optional[Path] = None
    syncnet: Optional[Path] = None
    """reuse a trained SyncNet3D (syncnet.pt of another run)"""
    teacher: Optional[Path] = None
    """reuse a trained 2D teacher (teacher.pt of another run)"""


@dataclass
class Eval:
    """Score a run on a split: LVE, FDD, LSE-D, LSE-C."""

    run: Path
    data: Path
    split: str = "test"
    json: Optional[Path] = None
    syncnet: Optional[Path] = None
    """evaluate LSE with this SyncNet3D instead of the run's own"""
    layout: str = "auto"
    lip_ids: Optional[Path] = None
    upper_ids: Optional[Path] = None


@dataclass
class Animate:
    """Audio -> mesh video (or, with --load-config, the Gaussian avatar) with the audio muxed in."""

    audio: Path
    output: Path
    run: Optional[Path] = None
    speaker: Optional[str] = None
    size: int = 256
    load_config: Optional[Path] = None
    """an avatar trained with ns-train learn2talk: render it instead of the mesh"""
    vertices: Optional[Path] = None
    """with --load-config and no --run: drive the avatar with this [T, V, 3] .npy"""


def synth(args: Synth) -> None:
    from ns_plugins.learn2talk.synth_data import write_synthetic_dataset

    write_synthetic_dataset(args.out, args.seed, args.speakers, args.train_per_speaker, args.test_per_speaker,
                            args.speakers_2d, args.per_speaker_2d, (args.min_seconds, args.max_seconds), args.fps, args.resolution)
    print(f"wrote {args.out}")


def train(args: Train) -> None:
    from ns_plugins.learn2talk.train import PRESETS, preset, train_run

    weights = dict(PRESETS.get(args.preset, PRESETS["cpu"]).weights)
    for k in ("vertex", "velocity", "sync", "teacher"):
        if getattr(args, f"weight_{k}") is not None:
            weights[k] = getattr(args, f"weight_{k}")
    cfg = preset(args.preset, losses=tuple(x.strip() for x in args.losses.split(",") if x.strip()), weights=weights, steps=args.steps,
                 syncnet_steps=args.syncnet_steps, teacher_steps=args.teacher_steps, seed=args.seed, fps=args.fps, feature_kind=args.features,
                 wav2vec2_path=str(args.wav2vec2) if args.wav2vec2 else None)
    out = train_run(args.data, args.output, cfg, args.layout, args.lip_ids, args.upper_ids, args.syncnet, args.teacher)
    print(f"saved run to {out}")


def evaluate(args: Eval) -> dict:
    from ns_plugins.learn2talk.datasets import load_dataset
    from ns_plugins.learn2talk.evaluate import evaluate_run
    from ns_plugins.learn2talk.run_dir import load_run, load_syncnet

    run = load_run(args.run)
    data = load_dataset(args.data, args.split, run.feature, args.layout, args.lip_ids, args.upper_ids)
    if data.sequences[0].vertices.shape[1] != run.model.cfg.num_vertices:
        raise DataError(args.data, f"the data has {data.sequences[0].vertices.shape[1]} vertices, the run was trained on {run.model.cfg.num_vertices}")
    scores = evaluate_run(run, data, load_syncnet(args.syncnet) if args.syncnet else None)
    print(json.dumps(scores, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(scores, indent=1))
    return scores


def animate(args: Animate) -> None:
    if args.load_config is not None:
        try:
            from ns_plugins.learn2talk.avatar_animate import animate_avatar
        except ImportError as err:
            raise DataError(args.load_config, f"avatar rendering is not available in this install ({err})") from None
        animate_avatar(args.load_config, args.audio, args.output, run=args.run, vertices=args.vertices, speaker=args.speaker, width=args.size)
        return
    if args.run is None:
        raise DataError("--run", "animate needs a trained run (ns-l2t train --output RUN) to turn the audio into motion")
    from ns_plugins.learn2talk.audio import read_wav
    from ns_plugins.learn2talk.projection import FrontalCamera
    from ns_plugins.learn2talk.render_mesh import render_mesh
    from ns_plugins.learn2talk.run_dir import load_run
    from ns_plugins.learn2talk.video import write_video_with_audio

    run = load_run(args.run)
    if run.faces is None:
        raise DataError(args.run, "the run's dataset had no faces.npy, so there is no mesh surface to render")
    verts = run.predict_wav(args.audio, args.speaker)
    colors = run.vertex_colors if run.vertex_colors is not None else verts.new_full((verts.shape[1], 3), 0.8)
    size = args.size + args.size % 2
    camera = FrontalCamera().scaled(size, size)
    frames = (render_mesh(v, run.faces, colors, camera) for v in verts)
    write_video_with_audio(frames, run.feature.fps, read_wav(args.audio, run.feature.sample_rate), args.output, run.feature.sample_rate)
    print(f"wrote {args.output} ({verts.shape[0]} frames)")


@exits_on_data_error
def entrypoint() -> None:
    import tyro

    args = tyro.cli(
        Union[
            Annotated[Synth, tyro.conf.subcommand("synth")],
            Annotated[Train, tyro.conf.subcommand("train")],
            Annotated[Eval, tyro.conf.subcommand("eval")],
            Annotated[Animate, tyro.conf.subcommand("animate")],
        ]
    )
    {Synth: synth, Train: train, Eval: evaluate, Animate: animate}[type(args)](args)


if __name__ == "__main__":
    entrypoint()
