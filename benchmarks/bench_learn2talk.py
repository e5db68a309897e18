"""Learn2Talk audio-to-face quality and speed on held-out synthetic sequences (CPU).

    python benchmarks/bench_learn2talk.py --write

Data: ``ns-l2t synth`` (4 speakers, 12 train / 3 held-out sequences each of 2.5-4 s, plus a 2D
corpus of 8 other speakers for the teacher). One SyncNet3D trained for the sync loss (seed 0) and
a second, independently seeded one (seed 1) as the evaluator of LSE-D/LSE-C for every row, so
a variant trained against the first expert cannot score by fooling the evaluator. Variants of the
regressor, same preset and step budget: (a) vertex + velocity losses (FaceFormer-like baseline),
(b) + sync, (c) + teacher, (d) full (vertex + velocity + sync + teacher); trivial predictors
(template only, mean training motion). Inference: frames of audio-to-vertices per second,
autoregressive, batch 1, on this CPU. ``--write`` replaces this benchmark's section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from dataclasses import replace
from pathlib import Path

import torch

from bench_common import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
VARIANTS = {
    "(a) vertex only (FaceFormer-like)": ("vertex", "velocity"),
    "(b) + sync": ("vertex", "velocity", "sync"),
    "(c) + teacher": ("vertex", "velocity", "teacher"),
    "(d) full": ("vertex", "velocity", "sync", "teacher"),
}


def trivial_rows(data, train_data, evaluator, feat) -> dict:
    from ns_plugins.learn2talk.talking_head.evaluate import score_predictions

    mean_offset = torch.cat([s.vertices - train_data.template(s.speaker) for s in train_data.sequences]).mean(0)
    template_only = [data.template(s.speaker).expand_as(s.vertices) for s in data.sequences]
    mean_motion = [data.template(s.speaker) + mean_offset.expand_as(s.vertices) for s in data.sequences]
    return {
        "template only": score_predictions(template_only, data, evaluator, feat),
        "mean training motion": score_predictions(mean_motion, data, evaluator, feat),
    }


def markdown(args, rows: dict, info: dict, load: tuple) -> str:
    date = datetime.date.today().isoformat()
    lines = [
        "## Learn2Talk: audio to 3D face (synthetic talking heads, CPU)",
        "",
        f"Command: `python benchmarks/bench_learn2talk.py --write --steps {args.steps} --weight-sync "
        f"{args.weight_sync} --weight-teacher {args.weight_teacher}` — {date}, {platform.machine()}, nproc "
        f"{os.cpu_count()}, torch {torch.__version__} ({torch.get_num_threads()} threads).",
        f"Data: `ns-l2t synth --seed {args.seed} --train-per-speaker {args.train_per_speaker} --resolution "
        f"{args.resolution}` ({info['vertices']} vertices): {info['speakers']} speakers, {info['train']} training / "
        f"{info['test']} held-out sequences ({info['test_frames']} held-out frames at 25 fps), 2D teacher corpus of "
        f"{info['corpus']} sequences of 8 other speakers. Preset `cpu` (FaceFormer d=64, 1 layer; {args.steps} "
        f"steps, batch 4; SyncNet3D {info['syncnet_steps']} steps; teacher {info['teacher_steps']} steps). "
        "LSE-D/LSE-C from an independently seeded evaluator SyncNet3D (ground truth scores LSE-D "
        f"{info['gt_lse_d']:.3f}, LSE-C {info['gt_lse_c']:.3f}). LVE in units of 1e-5 (squared distance; head radius "
        "~0.9); FDD in 1e-6. One seed per row.",
        "",
        "| predictor | LVE (1e-5) | FDD (1e-6) | LSE-D (lower better) | LSE-C (higher better) | train s |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        secs = f"{r['seconds']:.0f}" if "seconds" in r else "-"
        lines.append(
            f"| {name} | {r['lve'] * 1e5:.2f} | {r['fdd'] * 1e6:.2f} | {r['lse_d']:.3f} | {r['lse_c']:.3f} | {secs} |"
        )
    a, d = rows["(a) vertex only (FaceFormer-like)"], rows["(d) full"]
    trivial = min(rows["template only"]["lve"], rows["mean training motion"]["lve"])
    lines += [
        "",
        f"- full vs baseline: LSE-D {d['lse_d'] - a['lse_d']:+.3f}, LSE-C {d['lse_c'] - a['lse_c']:+.3f} (sync must "
        f"improve); LVE {100 * (d['lve'] / a['lve'] - 1):+.1f}% (must stay within +10%)",
        f"- full vs best trivial predictor: LVE {trivial / d['lve']:.0f}x lower",
        f"- inference: {info['fps']:.0f} frames/s of audio-to-vertices (autoregressive, batch 1, {info['vertices']} "
        f"vertices; {info['fps'] / 25:.1f}x real time at 25 fps)",
        "",
        f"1-min load average {load[0]:.2f} before / {load[1]:.2f} after (2 cores shared with other jobs: times are "
        "inflated).",
    ]
    return "\n".join(lines)


def main() -> None:
    from ns_plugins.learn2talk.synth.talking_data import write_synthetic_dataset
    from ns_plugins.learn2talk.talking_head.datasets import load_dataset
    from ns_plugins.learn2talk.talking_head.evaluate import evaluate_run
    from ns_plugins.learn2talk.talking_head.run import load_run
    from ns_plugins.learn2talk.talking_head.syncnet3d import load_syncnet, save_syncnet
    from ns_plugins.learn2talk.talking_head.teacher import load_2d_corpus, save_teacher
    from ns_plugins.learn2talk.talking_head.train import (
        PRESETS,
        preset,
        sequence_features,
        train_run,
        train_syncnet,
        train_teacher,
    )

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_learn2talk_r20"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=PRESETS["cpu"].steps)
    parser.add_argument(
        "--train-per-speaker",
        type=int,
        default=6,
        help="3D training sequences per speaker (3D data is the scarce kind)",
    )
    parser.add_argument("--resolution", type=int, default=20, help="head mesh resolution (20: 762 vertices)")
    parser.add_argument(
        "--train", default="a,b,c,d", help="variants to (re)train; the others are read from earlier runs in --work"
    )
    parser.add_argument("--weight-sync", type=float, default=None)
    parser.add_argument("--weight-teacher", type=float, default=None)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    data_dir = args.work / "data"
    if not (data_dir / "meta.json").exists():
        write_synthetic_dataset(
            data_dir, seed=args.seed, train_per_speaker=args.train_per_speaker, resolution=args.resolution
        )
    shared = args.work / "shared"
    cfg = preset(
        "cpu",
        data_dir,
        args.work,
        steps=args.steps,
        weight_sync=args.weight_sync,
        weight_teacher=args.weight_teacher,
        syncnet=shared / "syncnet.pt",
        teacher=shared / "teacher.pt",
    )
    weights = {"sync": cfg.weight_sync, "teacher": cfg.weight_teacher}
    feat = cfg.feature_config()
    train_data = load_dataset(data_dir, "train", feat)
    test_data = load_dataset(data_dir, "test", feat)
    feats = sequence_features(train_data, feat)
    lips = [(s.vertices - train_data.template(s.speaker))[:, train_data.lip_vertex_ids] for s in train_data.sequences]
    shared.mkdir(parents=True, exist_ok=True)
    if not (shared / "syncnet.pt").exists():
        save_syncnet(shared / "syncnet.pt", train_syncnet(feats, lips, feat, cfg.syncnet_steps, seed=0))
    if not (shared / "evaluator.pt").exists():
        save_syncnet(shared / "evaluator.pt", train_syncnet(feats, lips, feat, cfg.syncnet_steps, seed=1))
    corpus = load_2d_corpus(data_dir, feat)
    if not (shared / "teacher.pt").exists():
        save_teacher(
            shared / "teacher.pt", train_teacher(corpus, train_data.lip_vertex_ids, feat, cfg.teacher_steps, seed=0)
        )
    evaluator = load_syncnet(shared / "evaluator.pt")
    rows = {}
    fps = []
    for key, (name, losses) in zip("abcd", VARIANTS.items()):
        tag = (
            ""
            if key == "a"
            else f"_s{weights['sync'] if 'sync' in losses else 0:g}"
            f"_t{weights['teacher'] if 'teacher' in losses else 0:g}"
        )
        run_dir = args.work / f"run_{key}_{args.steps}{tag}"
        if key in args.train.split(","):
            train_run(replace(cfg, output=run_dir, losses=losses))
        if not (run_dir / "run.json").exists():
            print(f"{name}: no run at {run_dir}; train it with --train {key}")
            continue
        run = load_run(run_dir)
        scores = evaluate_run(run, test_data, evaluator)
        rows[name] = scores | {"seconds": run.info["seconds"]}
        fps.append(scores["inference_fps"])
        print(name, json.dumps(rows[name]), flush=True)
    if len(rows) < len(VARIANTS):
        return
    rows |= trivial_rows(test_data, train_data, evaluator, feat)
    info = {
        "speakers": len(train_data.speakers),
        "train": len(train_data.sequences),
        "test": len(test_data.sequences),
        "test_frames": sum(s.num_frames for s in test_data.sequences),
        "corpus": len(corpus),
        "syncnet_steps": cfg.syncnet_steps,
        "teacher_steps": cfg.teacher_steps,
        "fps": max(fps),
        "vertices": train_data.sequences[0].vertices.shape[1],
        "gt_lse_d": rows["(a) vertex only (FaceFormer-like)"]["gt_lse_d"],
        "gt_lse_c": rows["(a) vertex only (FaceFormer-like)"]["gt_lse_c"],
    }
    text = markdown(args, rows, info, (load0, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_section("learn2talk", text, before="learn2talk_avatar")


if __name__ == "__main__":
    main()
