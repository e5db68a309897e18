"""``ns-l2t``: synthetic data, training, evaluation and animation of speech-driven 3D faces.

ns-l2t synth   --out DIR --seed S [--regime hard]
ns-l2t train   --data DIR --output RUN [--losses vertex,velocity,sync,teacher] [--preset cpu]
ns-l2t eval    --run RUN --data DIR --split test --json OUT
ns-l2t animate --run RUN --audio x.wav --output mesh.mp4 [--speaker spk0]
ns-l2t animate --load-config AVATAR/config.yml --run RUN --audio x.wav --output avatar.mp4
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Optional, Sequence, Union

import tyro
from nerfstudio.utils.rich_utils import CONSOLE

from ns_plugins.data.errors import DataError, exits_on_data_error
from ns_plugins.learn2talk.talking_head.train import PRESETS, TrainConfig


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
    regime: Literal["standard", "hard"] = "standard"
    """hard: speaker-specific timing and co-articulation; held-out unseen speakers and faster speech"""
    unseen_speakers: int = 2
    """hard regime: held-out speakers absent from the training split"""


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
    from ns_plugins.learn2talk.synth.talking_data import write_synthetic_dataset

    write_synthetic_dataset(
        args.out,
        args.seed,
        args.speakers,
        args.train_per_speaker,
        args.test_per_speaker,
        args.speakers_2d,
        args.per_speaker_2d,
        (args.min_seconds, args.max_seconds),
        args.fps,
        args.resolution,
        regime=args.regime,
        unseen_speakers=args.unseen_speakers,
    )
    CONSOLE.print(f"wrote {args.out}")


def train(cfg: TrainConfig) -> None:
    from ns_plugins.learn2talk.talking_head.train import train_run

    CONSOLE.print(f"saved run to {train_run(cfg)}")


def evaluate(args: Eval) -> dict:
    from ns_plugins.learn2talk.talking_head.datasets import load_dataset
    from ns_plugins.learn2talk.talking_head.evaluate import evaluate_run
    from ns_plugins.learn2talk.talking_head.run import load_run
    from ns_plugins.learn2talk.talking_head.syncnet3d import load_syncnet

    run = load_run(args.run)
    data = load_dataset(args.data, args.split, run.feature, args.layout, args.lip_ids, args.upper_ids)
    if data.sequences[0].vertices.shape[1] != run.model.cfg.num_vertices:
        raise DataError(
            args.data,
            f"the data has {data.sequences[0].vertices.shape[1]} vertices, the run was trained on "
            f"{run.model.cfg.num_vertices}",
        )
    scores = evaluate_run(run, data, load_syncnet(args.syncnet) if args.syncnet else None)
    CONSOLE.print_json(json.dumps(scores))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(scores, indent=1))
    return scores


def animate(args: Animate) -> None:
    if args.load_config is not None:
        try:
            from ns_plugins.learn2talk.avatar.animate import animate_avatar
        except ImportError as err:
            raise DataError(args.load_config, f"avatar rendering is not available in this install ({err})") from None
        animate_avatar(
            args.load_config,
            args.audio,
            args.output,
            run=args.run,
            vertices=args.vertices,
            speaker=args.speaker,
            width=args.size,
        )
        return
    if args.run is None:
        raise DataError(
            "--run", "animate needs a trained run (ns-l2t train --output RUN) to turn the audio into motion"
        )
    from ns_plugins.learn2talk.talking_head.audio import read_wav
    from ns_plugins.learn2talk.talking_head.projection import FrontalCamera
    from ns_plugins.learn2talk.talking_head.render_mesh import render_mesh
    from ns_plugins.learn2talk.talking_head.run import load_run
    from ns_plugins.learn2talk.talking_head.video import write_video_with_audio

    run = load_run(args.run)
    if run.faces is None:
        raise DataError(args.run, "the run's dataset had no faces.npy, so there is no mesh surface to render")
    verts = run.predict_wav(args.audio, args.speaker)
    colors = run.vertex_colors if run.vertex_colors is not None else verts.new_full((verts.shape[1], 3), 0.8)
    size = args.size + args.size % 2
    camera = FrontalCamera().scaled(size, size)
    frames = (render_mesh(v, run.faces, colors, camera) for v in verts)
    write_video_with_audio(
        frames, run.feature.fps, read_wav(args.audio, run.feature.sample_rate), args.output, run.feature.sample_rate
    )
    CONSOLE.print(f"wrote {args.output} ({verts.shape[0]} frames)")


def chosen_preset(argv: Sequence[str]) -> str:
    """The ``--preset`` of an ``ns-l2t train`` command line (its defaults must be in place before tyro parses)."""
    if not argv or argv[0] != "train":
        return "cpu"
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--preset", default="cpu")
    name = scan.parse_known_args(argv[1:])[0].preset
    if name not in PRESETS:
        raise DataError("--preset", f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return name


def parse(argv: Sequence[str]) -> Union[Synth, TrainConfig, Eval, Animate]:
    """``ns-l2t`` arguments -> the subcommand's dataclass; ``train`` parses :class:`TrainConfig` itself."""
    train_defaults = PRESETS[chosen_preset(argv)]
    return tyro.cli(
        Union[  # type: ignore[arg-type]
            Annotated[Synth, tyro.conf.subcommand("synth")],
            Annotated[TrainConfig, tyro.conf.subcommand("train", default=train_defaults)],
            Annotated[Eval, tyro.conf.subcommand("eval")],
            Annotated[Animate, tyro.conf.subcommand("animate")],
        ],
        args=list(argv),
    )


@exits_on_data_error
def entrypoint() -> None:
    args = parse(sys.argv[1:])
    {Synth: synth, TrainConfig: train, Eval: evaluate, Animate: animate}[type(args)](args)  # type: ignore[operator]


if __name__ == "__main__":
    entrypoint()
