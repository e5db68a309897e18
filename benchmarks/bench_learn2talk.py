"""Learn2Talk audio-to-face over several seeds: vertex-only baseline vs + sync, + teacher, full (CPU).

    python benchmarks/bench_learn2talk.py --write --regime hard --seeds 0 1 2 3 4 --jobs 2
    python benchmarks/bench_learn2talk.py --write --regime standard --seeds 0 1 2 3 4 --jobs 2

Per seed S: ``ns-l2t synth --seed S --regime R`` writes the data; the SyncNet3D used as the sync
loss is trained on its training split (seed S). LSE-D / LSE-C of every row come from an evaluator
SyncNet3D trained on the dataset's ``sync_eval/`` split (other speakers and sentences, drawn from
their own random stream) with seed S + 1000: it shares neither data nor initialisation with the
expert the sync loss was trained against, so a variant cannot score by fitting its expert. A row
scoring better than the ground truth itself is flagged. Variants of the regressor, same preset,
step budget and seed: (a) vertex + velocity losses (FaceFormer-like baseline), (b) + sync,
(c) + teacher, (d) full; trivial predictors (template only, mean training motion). Seeds run as
separate processes, ``--jobs`` at a time with one torch thread each; a seed whose scores exist in
``--work`` is read back unless ``--retrain``. ``--write`` replaces the regime's section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import torch

from bench_common import write_section

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "(a) vertex only": ("vertex", "velocity"),
    "(b) + sync": ("vertex", "velocity", "sync"),
    "(c) + teacher": ("vertex", "velocity", "teacher"),
    "(d) full": ("vertex", "velocity", "sync", "teacher"),
}
BASELINE, FULL = "(a) vertex only", "(d) full"
TRAIN_PER_SPEAKER = {"standard": 6, "hard": 3}
WHY_HARD = (
    "Why this regime is harder: every speaker has their own speaking rate (0.8-1.3x), articulator time "
    "constant (20-60 ms: fast speech undershoots its targets), a mouth lead of 0-80 ms over the sound and "
    "anticipatory co-articulation (a consonant takes 30-80% of the next vowel's rounding or spreading), so one "
    "sound does not fix one shape; 3D data is scarce (3 sequences per speaker) while the 2D corpus has 8 other "
    "speakers; and the held-out split asks for what training does not show: 2 unseen speakers and the training "
    "speakers speaking 1.1-1.4x faster than they trained."
)


def trivial_rows(data, train_data, evaluator, feat) -> dict:
    from ns_plugins.learn2talk.talking_head.evaluate import score_predictions

    mean_offset = torch.cat([s.vertices - train_data.template(s.speaker) for s in train_data.sequences]).mean(0)
    template_only = [data.template(s.speaker).expand_as(s.vertices) for s in data.sequences]
    mean_motion = [data.template(s.speaker) + mean_offset.expand_as(s.vertices) for s in data.sequences]
    return {
        "template only": score_predictions(template_only, data, evaluator, feat),
        "mean training motion": score_predictions(mean_motion, data, evaluator, feat),
    }


def run_seed(args: argparse.Namespace, seed: int, work: Path) -> dict:
    """Data, the two SyncNet3Ds, the teacher and the four variants of one seed -> scores per predictor."""
    from ns_plugins.learn2talk.synth.talking_data import write_synthetic_dataset
    from ns_plugins.learn2talk.talking_head.datasets import load_dataset
    from ns_plugins.learn2talk.talking_head.evaluate import evaluate_run
    from ns_plugins.learn2talk.talking_head.run import load_run
    from ns_plugins.learn2talk.talking_head.syncnet3d import load_syncnet, save_syncnet
    from ns_plugins.learn2talk.talking_head.teacher import load_2d_corpus, save_teacher
    from ns_plugins.learn2talk.talking_head.train import (
        preset,
        sequence_features,
        train_run,
        train_syncnet,
        train_teacher,
    )

    data_dir = work / "data"
    if not (data_dir / "meta.json").exists():
        write_synthetic_dataset(
            data_dir,
            seed=seed,
            train_per_speaker=args.train_per_speaker,
            resolution=args.resolution,
            regime=args.regime,
        )
    cfg = preset(
        "cpu",
        data_dir,
        work,
        steps=args.steps,
        seed=seed,
        weight_sync=args.weight_sync,
        weight_teacher=args.weight_teacher,
        syncnet=work / "syncnet.pt",
        teacher=work / "teacher.pt",
    )
    feat = cfg.feature_config()
    train_data = load_dataset(data_dir, "train", feat)
    test_data = load_dataset(data_dir, "test", feat)
    eval_data = load_dataset(data_dir, "sync_eval", feat)

    if not (work / "syncnet.pt").exists():
        expert = train_syncnet(
            sequence_features(train_data, feat), train_data.lip_offsets(), feat, cfg.syncnet_steps, seed
        )
        save_syncnet(work / "syncnet.pt", expert)
    if not (work / "evaluator.pt").exists():
        evaluator = train_syncnet(
            sequence_features(eval_data, feat), eval_data.lip_offsets(), feat, cfg.syncnet_steps, seed + 1000
        )
        save_syncnet(work / "evaluator.pt", evaluator)
    corpus = load_2d_corpus(data_dir, feat)
    if not (work / "teacher.pt").exists():
        teacher = train_teacher(corpus, train_data.lip_vertex_ids, feat, cfg.teacher_steps, seed)
        save_teacher(work / "teacher.pt", teacher)
    evaluator = load_syncnet(work / "evaluator.pt")
    rows = {}
    for key, (name, losses) in zip("abcd", VARIANTS.items()):
        run_dir = work / f"run_{key}"
        if not (run_dir / "run.json").exists():
            train_run(replace(cfg, output=run_dir, losses=losses), progress=False)
        run = load_run(run_dir)
        rows[name] = evaluate_run(run, test_data, evaluator) | {"seconds": run.info["seconds"]}
        print(f"seed {seed} {name}: {json.dumps(rows[name])}", flush=True)
    rows |= trivial_rows(test_data, train_data, evaluator, feat)
    info = {
        "speakers": len(train_data.speakers),
        "train": len(train_data.sequences),
        "test": len(test_data.sequences),
        "test_frames": sum(s.num_frames for s in test_data.sequences),
        "sync_eval": len(eval_data.sequences),
        "corpus": len(corpus),
        "syncnet_steps": cfg.syncnet_steps,
        "teacher_steps": cfg.teacher_steps,
        "vertices": train_data.sequences[0].vertices.shape[1],
        "weight_sync": cfg.weight_sync,
        "weight_teacher": cfg.weight_teacher,
    }
    return {"seed": seed, "rows": rows, "info": info}


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}..{max(values):.3f}"


def gain_line(per_seed: list[dict], key: str, better: str) -> tuple[str, bool]:
    """Median paired gain of the full model over the baseline in ``key`` against the seed spread
    (standard deviation over seeds of the baseline's score); True when it improves by more."""
    gains = [s["rows"][FULL][key] - s["rows"][BASELINE][key] for s in per_seed]
    base = [s["rows"][BASELINE][key] for s in per_seed]
    med = statistics.median(gains)
    sd = statistics.stdev(base) if len(base) > 1 else float("nan")
    improves = med < 0 if better == "lower" else med > 0
    wins = sum((g < 0) if better == "lower" else (g > 0) for g in gains)
    ok = improves and abs(med) > sd
    return (
        f"{key.upper().replace('_', '-')}: median paired change {med:+.4f} ({better} is better; {wins}/{len(gains)} "
        f"seeds improve; range {min(gains):+.4f}..{max(gains):+.4f}); the baseline's spread over seeds (std) "
        f"{sd:.4f}",
        ok,
    )


def markdown(args: argparse.Namespace, per_seed: list[dict], load: tuple) -> str:
    date = datetime.date.today().isoformat()
    info = per_seed[0]["info"]
    names = list(per_seed[0]["rows"])
    seeds = " ".join(str(s["seed"]) for s in per_seed)
    gt_d = [s["rows"][BASELINE]["gt_lse_d"] for s in per_seed]
    gt_c = [s["rows"][BASELINE]["gt_lse_c"] for s in per_seed]
    title = {"hard": "harder regime", "standard": "standard regime"}[args.regime]
    lines = [
        f"## Learn2Talk: audio to 3D face, {title}, {len(per_seed)} seeds (synthetic talking heads, CPU)",
        "",
        f"Command: `python benchmarks/bench_learn2talk.py --write --regime {args.regime} --seeds {seeds} --steps "
        f"{args.steps} --jobs {args.jobs}` — {date}, {platform.machine()}, nproc {os.cpu_count()}, torch "
        f"{torch.__version__} (1 thread per seed, {args.jobs} seeds at a time).",
        f"Data per seed S: `ns-l2t synth --seed S --regime {args.regime} --train-per-speaker {args.train_per_speaker} "
        f"--resolution {args.resolution}` ({info['vertices']} vertices): {info['speakers']} training speakers, "
        f"{info['train']} training / {info['test']} held-out sequences ({info['test_frames']} held-out frames at 25 "
        f"fps), a 2D teacher corpus of {info['corpus']} sequences of 8 other speakers. Preset `cpu` (FaceFormer d=64, "
        f"1 layer; {args.steps} steps, batch 4; SyncNet3D {info['syncnet_steps']} steps; teacher "
        f"{info['teacher_steps']} steps; sync weight {info['weight_sync']:g}, teacher weight "
        f"{info['weight_teacher']:g}). LSE-D / LSE-C from an evaluator SyncNet3D trained on `sync_eval/` "
        f"({info['sync_eval']} sequences of 4 speakers that appear nowhere else, their own random stream) with seed "
        "S + 1000; the sync loss's expert is trained on the training split with seed S. LVE in 1e-5 (squared "
        "distance; head radius ~0.9), FDD in 1e-6. Median over seeds, [min..max] beside it; `!` marks a median "
        "scoring better than the ground truth's (a predictor fitting the scorer, not the data).",
    ]
    if args.regime == "hard":
        lines += ["", WHY_HARD]
    lines += [
        "",
        "| predictor | LVE (1e-5) | FDD (1e-6) | LSE-D (lower better) | LSE-C (higher better) | train s |",
        "|---|---|---|---|---|---|",
        f"| ground truth | - | - | {statistics.median(gt_d):.3f} [{spread(gt_d)}] | {statistics.median(gt_c):.3f} "
        f"[{spread(gt_c)}] | - |",
    ]
    for name in names:
        col = {k: [s["rows"][name][k] for s in per_seed] for k in ("lve", "fdd", "lse_d", "lse_c")}
        med = {k: statistics.median(v) for k, v in col.items()}
        flag_d = "!" if med["lse_d"] < statistics.median(gt_d) else ""
        flag_c = "!" if med["lse_c"] > statistics.median(gt_c) else ""
        secs = [s["rows"][name].get("seconds") for s in per_seed]
        secs_txt = f"{statistics.median(secs):.0f}" if None not in secs else "-"
        lines.append(
            f"| {name} | {med['lve'] * 1e5:.2f} [{min(col['lve']) * 1e5:.2f}..{max(col['lve']) * 1e5:.2f}] | "
            f"{med['fdd'] * 1e6:.2f} | {med['lse_d']:.3f}{flag_d} [{spread(col['lse_d'])}] | "
            f"{med['lse_c']:.3f}{flag_c} [{spread(col['lse_c'])}] | {secs_txt} |"
        )
    lve_change = [s["rows"][FULL]["lve"] / s["rows"][BASELINE]["lve"] - 1 for s in per_seed]
    d_line, d_ok = gain_line(per_seed, "lse_d", "lower")
    c_line, c_ok = gain_line(per_seed, "lse_c", "higher")
    lve_ok = statistics.median(lve_change) <= 0.10
    base_c = statistics.median([s["rows"][BASELINE]["lse_c"] for s in per_seed])
    base_d = statistics.median([s["rows"][BASELINE]["lse_d"] for s in per_seed])
    lines += [
        "",
        f"- room for a sync gain: the baseline's median LSE-C {base_c:.3f} vs the ground truth's "
        f"{statistics.median(gt_c):.3f}, LSE-D {base_d:.3f} vs {statistics.median(gt_d):.3f}",
        f"- full vs baseline, {d_line}: {'meets' if d_ok else 'does not meet'} the bar (improves by more than the "
        "spread)",
        f"- full vs baseline, {c_line}: {'meets' if c_ok else 'does not meet'} the bar",
        f"- full vs baseline, LVE: median {100 * statistics.median(lve_change):+.1f}% (range "
        f"{100 * min(lve_change):+.1f}..{100 * max(lve_change):+.1f}%; must stay within +10%: "
        f"{'met' if lve_ok else 'not met'})",
        "- the avatar (Gaussians bound to the mesh) and its held-out PSNR: the `bench_learn2talk_avatar.py` section "
        "below",
        "",
        "Per seed (LSE-D / LSE-C; ground truth, baseline, full; LVE 1e-5 baseline -> full):",
        "",
        "| seed | ground truth | (a) vertex only | (d) full | LVE |",
        "|---|---|---|---|---|",
    ]
    for s in per_seed:
        r = s["rows"]
        lines.append(
            f"| {s['seed']} | {r[BASELINE]['gt_lse_d']:.3f} / {r[BASELINE]['gt_lse_c']:.3f} | "
            f"{r[BASELINE]['lse_d']:.3f} / {r[BASELINE]['lse_c']:.3f} | {r[FULL]['lse_d']:.3f} / "
            f"{r[FULL]['lse_c']:.3f} | {r[BASELINE]['lve'] * 1e5:.2f} -> {r[FULL]['lve'] * 1e5:.2f} |"
        )
    fps = max(s["rows"][BASELINE]["inference_fps"] for s in per_seed)
    lines += [
        "",
        f"Inference: {fps:.0f} frames/s of audio-to-vertices (autoregressive, batch 1, {info['vertices']} vertices, "
        f"one thread beside another seed's training; {fps / 25:.1f}x real time at 25 fps). 1-min load average "
        f"{load[0]:.2f} before / {load[1]:.2f} after.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--work", type=Path, default=None, help="default /tmp/bench_learn2talk_<regime>")
    parser.add_argument("--regime", choices=("standard", "hard"), default="hard")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=300, help="regressor steps (the cpu preset's)")
    parser.add_argument(
        "--train-per-speaker", type=int, default=None, help="3D training sequences per speaker (standard 6, hard 3)"
    )
    parser.add_argument("--resolution", type=int, default=20, help="head mesh resolution (20: 762 vertices)")
    parser.add_argument("--weight-sync", type=float, default=None)
    parser.add_argument("--weight-teacher", type=float, default=None)
    parser.add_argument("--jobs", type=int, default=2, help="seeds trained at once (one torch thread each)")
    parser.add_argument("--retrain", action="store_true", help="ignore scores saved by earlier runs in --work")
    parser.add_argument("--one-seed", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    args.work = args.work or Path(f"/tmp/bench_learn2talk_{args.regime}")
    args.train_per_speaker = args.train_per_speaker or TRAIN_PER_SPEAKER[args.regime]
    if args.one_seed is not None:
        torch.set_num_threads(1)
        work = args.work / f"seed{args.one_seed}"
        work.mkdir(parents=True, exist_ok=True)
        result = run_seed(args, args.one_seed, work)
        (work / "scores.json").write_text(json.dumps(result, indent=1))
        return
    load0 = os.getloadavg()[0]
    forwarded = [a for a in sys.argv[1:] if a not in ("--write", "--retrain")]

    def seed_job(seed: int) -> dict:
        path = args.work / f"seed{seed}" / "scores.json"
        if args.retrain or not path.exists():
            cmd = [sys.executable, __file__, *forwarded, "--one-seed", str(seed)]
            env = os.environ | {"OMP_NUM_THREADS": "1"}
            subprocess.run(cmd, check=True, env=env, cwd=ROOT)
        return json.loads(path.read_text())

    with ThreadPoolExecutor(args.jobs) as pool:
        per_seed = list(pool.map(seed_job, args.seeds))
    text = markdown(args, per_seed, (load0, os.getloadavg()[0]))
    print(text)
    if args.write:
        name = "learn2talk" if args.regime == "standard" else "learn2talk_hard"
        write_section(name, text, before="learn2talk_avatar" if args.regime == "standard" else "learn2talk")


if __name__ == "__main__":
    main()
