"""Learn2Talk on real human speech: mouth opening against speech energy over time.

    python benchmarks/bench_learn2talk_real_speech.py --write

Trains (or reuses, ``--run``) an ``ns-l2t train --preset cpu`` network on ``ns-l2t synth --seed 0``,
then predicts the meshes of every recording in ``--speech`` (real voices, six languages) and of
the held-out synthetic utterances. Per motion frame (25 fps): the speech energy (RMS of the
frame's 40 ms, dB below the recording's loudest frame) and the mouth opening (mean height of the
upper lip vertices minus that of the lower lip vertices, change from the template, mesh units;
the head's radius is ~0.9). Reported per recording: Pearson r between the two, the lag (frames)
where r peaks within +-5 frames (positive: the mouth follows the sound), the opening's 5-95% range,
and the mean opening in silent frames (energy > 35 dB below the peak) against speech frames.
Writes the figure ``docs/learn2talk_real_speech.png`` (one real recording next to one synthetic
utterance, with the synthetic ground truth) and, with ``--write``, its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from bench_common import write_section

ROOT = Path(__file__).resolve().parents[1]
SILENCE_DB = -35.0
"""Frames whose energy is this far below the recording's loudest frame count as silence."""
MAX_LAG = 5


def frame_energy_db(waveform: torch.Tensor, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """[T] RMS energy of each motion frame's 40 ms window (centred on the frame's slot), dB below the loudest."""
    hop = sample_rate / fps
    half = int(0.02 * sample_rate)
    x = waveform.numpy().astype(np.float64)
    centres = ((np.arange(num_frames) + 0.5) * hop).astype(int)
    rms = np.array([np.sqrt(np.mean(x[max(0, c - half) : c + half] ** 2) + 1e-12) for c in centres])
    db = 20 * np.log10(rms)
    return db - db.max()


def lip_halves(template: torch.Tensor, lip_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The lip vertices above and below the lips' centre on the template: (upper ids, lower ids)."""
    y = template[lip_ids, 1]
    return lip_ids[y > y.mean()], lip_ids[y <= y.mean()]


def mouth_opening(vertices: torch.Tensor, template: torch.Tensor, lip_ids: torch.Tensor) -> np.ndarray:
    """vertices [T, V, 3] -> [T] upper-lip height minus lower-lip height, change from the template."""
    upper, lower = lip_halves(template, lip_ids)

    def gap(v: torch.Tensor) -> torch.Tensor:
        return v[..., upper, 1].mean(-1) - v[..., lower, 1].mean(-1)

    return (gap(vertices) - gap(template)).numpy()


def lagged_correlation(energy: np.ndarray, opening: np.ndarray) -> tuple[float, int]:
    """(Pearson r at lag 0, lag in frames where r peaks within +-MAX_LAG; positive: opening follows energy)."""

    def r(lag: int) -> float:
        a, b = (
            (energy[: len(energy) - lag], opening[lag:]) if lag >= 0 else (energy[-lag:], opening[: len(opening) + lag])
        )
        return float(np.corrcoef(a, b)[0, 1])

    lags = range(-MAX_LAG, MAX_LAG + 1)
    return r(0), max(lags, key=r)


def describe(name: str, energy: np.ndarray, opening: np.ndarray) -> dict:
    r0, lag = lagged_correlation(energy, opening)
    silent = energy < SILENCE_DB
    return {
        "name": name,
        "frames": len(energy),
        "r": r0,
        "lag": lag,
        "range": float(np.percentile(opening, 95) - np.percentile(opening, 5)),
        "silent_open": float(opening[silent].mean()) if silent.any() else float("nan"),
        "speech_open": float(opening[~silent].mean()),
        "silent_frames": int(silent.sum()),
    }


def ensure_run(args) -> Path:
    if args.run is not None:
        return args.run
    run = args.work_dir / "run"
    if (run / "run.json").exists():
        return run
    data = args.work_dir / "data"
    l2t = str(Path(sys.executable).parent / "ns-l2t")
    if not (data / "meta.json").exists():
        subprocess.run([l2t, "synth", "--out", str(data), "--seed", "0"], check=True)
    subprocess.run([l2t, "train", "--data", str(data), "--output", str(run), "--preset", "cpu"], check=True)
    return run


def plot(path: Path, panels: list[tuple[str, np.ndarray, dict[str, np.ndarray], float]]) -> None:
    """One row per panel: energy (left axis) and mouth openings (right axis) over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), constrained_layout=True)
    for ax, (title, energy, openings, fps) in zip(np.atleast_1d(axes), panels):
        t = np.arange(len(energy)) / fps
        ax.fill_between(
            t, SILENCE_DB - 10, np.maximum(energy, SILENCE_DB - 10), color="0.85", label="speech energy (dB)"
        )
        ax.axhline(SILENCE_DB, color="0.6", lw=0.8, ls=":")
        ax.set_ylim(SILENCE_DB - 10, 2)
        ax.set_ylabel("energy (dB below peak)")
        ax.set_xlabel("time (s)")
        ax.set_title(title, fontsize=10)
        right = ax.twinx()
        for (label, opening), colour in zip(openings.items(), ("C3", "C0")):
            right.plot(t, opening, color=colour, lw=1.5, label=label)
        right.set_ylabel("mouth opening (mesh units)")
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
        ax.legend(handles, labels, loc="upper right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def markdown(args, rows: list[dict], synthetic: list[dict], figure: Path) -> str:
    date = datetime.date.today().isoformat()
    lines = [
        "## Learn2Talk on real speech: mouth opening against speech energy",
        "",
        "Command: `python benchmarks/bench_learn2talk_real_speech.py "
        f"--write{f' --run {args.run}' if args.run else ''}` — {date}, {platform.machine()}, nproc {os.cpu_count()}, "
        f"torch {torch.__version__}. Network: `ns-l2t train --preset cpu` on `ns-l2t synth --seed 0` (synthetic "
        "voices only). Recordings: `/work/shared/data/speech` (12 real voices, 6 languages, 16 kHz). Figure: "
        f"`{figure.relative_to(ROOT)}`. r: Pearson correlation of frame energy (dB) and mouth opening; lag: frames "
        f"(40 ms) where r peaks within +-{MAX_LAG}; range: the opening's 5-95% spread; open in silence / speech: "
        f"mean opening in frames more / less than {-SILENCE_DB:g} dB below the peak (mesh units, head radius ~0.9).",
        "",
        "| input | frames | r | lag | range | open in silence | open in speech |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows + synthetic:
        lines.append(
            f"| {row['name']} | {row['frames']} | {row['r']:.2f} | {row['lag']:+d} | {row['range']:.4f} | "
            f"{row['silent_open']:.4f} ({row['silent_frames']}) | {row['speech_open']:.4f} |"
        )
    med = lambda key, group: float(np.nanmedian([r[key] for r in group]))  # noqa: E731
    lines += [
        "",
        f"Median over the real recordings: r {med('r', rows):.2f}, range {med('range', rows):.4f}, open in silence "
        f"{med('silent_open', rows):.4f} / speech {med('speech_open', rows):.4f}; over the synthetic held-out "
        f"utterances: r {med('r', synthetic):.2f}, range {med('range', synthetic):.4f}, open in silence "
        f"{med('silent_open', synthetic):.4f} / speech {med('speech_open', synthetic):.4f}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--run", type=Path, default=None, help="an ns-l2t train output (default: train one)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench_l2t_real"))
    parser.add_argument("--speech", type=Path, default=Path("/work/shared/data/speech"))
    parser.add_argument("--figure-recording", default="cheetah_test_en.wav")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "learn2talk_real_speech.png")
    parser.add_argument("--write", action="store_true", help="replace this benchmark's section of RESULTS.md")
    args = parser.parse_args()

    from ns_plugins.learn2talk.talking_head.audio import read_wav
    from ns_plugins.learn2talk.talking_head.run import load_run

    recordings = sorted(args.speech.glob("*.wav"))
    if not recordings:
        raise SystemExit(f"no .wav recordings in {args.speech}")
    run = load_run(ensure_run(args))
    feat, lips = run.feature, run.lip_vertex_ids

    def measure(wav: Path, name: str, speaker: str | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
        waveform = read_wav(wav, feat.sample_rate)
        verts = run.predict_wav(wav, speaker)  # an unknown voice gets the average speaking style
        energy = frame_energy_db(waveform, feat.sample_rate, feat.fps, verts.shape[0])
        opening = mouth_opening(verts, run.template(speaker), lips)
        row = describe(name, energy, opening)
        print(row, flush=True)
        return row, energy, opening

    rows, panels = [], []
    for wav in recordings:
        row, energy, opening = measure(wav, wav.name)
        rows.append(row)
        if wav.name == args.figure_recording:
            panels.append((f"real speech: {wav.name} (r {row['r']:.2f})", energy, {"predicted": opening}, feat.fps))
    data = Path(run.info["data"])
    synthetic = []
    for i, wav in enumerate(sorted((data / "test").glob("*.wav"))):
        speaker = wav.stem.split("__")[0]
        row, energy, opening = measure(wav, f"synthetic {wav.stem}", speaker)
        synthetic.append(row)
        if i == 0:
            truth = torch.from_numpy(np.load(wav.with_suffix(".npy")))[: len(opening)]
            openings = {"predicted": opening, "ground truth": mouth_opening(truth, run.template(speaker), lips)}
            panels.append((f"synthetic speech: {wav.stem} (r {row['r']:.2f})", energy, openings, feat.fps))
    plot(args.figure, panels)
    print(f"wrote {args.figure}")
    if args.write:
        write_section(
            "learn2talk_real_speech", markdown(args, rows, synthetic, args.figure), before="learn2talk_avatar"
        )


if __name__ == "__main__":
    main()
