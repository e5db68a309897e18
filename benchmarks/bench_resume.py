"""Resumed vs uninterrupted training, every method: held-out PSNR after a kill -9 and a resume.

For each method, on a small synthetic scene made for it: an uninterrupted run of ``--steps`` steps; the
same run killed (SIGKILL, mid-step) as soon as its checkpoint at half the run is written; and that run
resumed with ``--load-dir`` to the same total. Reports the held-out PSNR of the killed run's checkpoint,
of the uninterrupted run and of the resumed run (nerfstudio's eval metrics on the test split).

    nice -n 5 python benchmarks/bench_resume.py --steps 200

Writes the ``resume`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench_common import train, write_section
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.demo import ns_command
from ns_plugins.learn2talk.synth.avatar_capture import generate_avatar_dataset
from ns_plugins.splat.evaluate import heldout_metrics, load_trained_pipeline


@dataclass
class Case:
    """One method on its scene."""

    method: str
    make_data: Callable[[Path], Path]
    extra: list[str] = field(default_factory=list)


def synthetic(degradation: str = "none", **options: object) -> Callable[[Path], Path]:
    def make(out: Path) -> Path:
        return generate_dataset(
            out,
            seed=4,
            num_train=12,
            num_test=4,
            width=32,
            height=32,
            num_seed_points=800,
            degradation=degradation,
            degradation_options=dict(options),
        )

    return make


def avatar(out: Path) -> Path:
    return generate_avatar_dataset(
        out,
        num_train_frames=3,
        num_test_frames=2,
        num_cameras=3,
        width=32,
        height=32,
        mesh_resolution=16,
        supersample=2,
    )


CASES = [
    Case("splatfacto-portable", synthetic()),
    Case(
        "deblurgs-small",
        synthetic("motion-blur", num_subframes=8, rotation_deg=8.0),
        ["--pipeline.model.trajectory.num-subframes", "4", "--pipeline.pose-fit.steps", "10"],
    ),
    Case("rainyscape-small", synthetic("rain", angle_deg=100.0, intensity=0.6)),
    Case("contrastive-gc-small", synthetic("inconsistent-masks")),
    Case("learn2talk-small", avatar),
]


def psnr(config: Path) -> float:
    pipeline, _ = load_trained_pipeline(config)
    return float(heldout_metrics(pipeline)["psnr"])


def killed_run(case: Case, data: Path, out: Path, steps: int) -> Path:
    """The run killed with SIGKILL right after its checkpoint at steps // 2 -> its config.yml."""
    save = steps // 2
    cmd = [
        ns_command("ns-train"),
        case.method,
        "--data",
        str(data),
        "--output-dir",
        str(out),
        "--experiment-name",
        "killed",
        "--timestamp",
        "t",
        "--max-num-iterations",
        str(steps),
        "--steps-per-save",
        str(save),
        "--steps-per-eval-image",
        str(steps),
        "--steps-per-eval-all-images",
        str(10 * steps),
        "--vis",
        "tensorboard",
        "--viewer.quit-on-train-completion",
        "True",
        *case.extra,
    ]
    print("$ " + " ".join(cmd) + "   # killed after its first checkpoint", flush=True)
    ckpt = out / "killed" / case.method / "t" / "nerfstudio_models" / f"step-{save:09d}.ckpt"
    with open(out / "killed.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while not ckpt.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"{case.method}: the run ended before its checkpoint (see {out / 'killed.log'})")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return ckpt.parent.parent / "config.yml"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--method-steps", type=json.loads, default={}, help='per-method steps, JSON: {"deblurgs-small": 100}'
    )
    parser.add_argument("--methods", nargs="*", default=[c.method for c in CASES])
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_resume_"))
    rows = []
    for case in (c for c in CASES if c.method in args.methods):
        steps = args.method_steps.get(case.method, args.steps)
        root = work / f"{case.method}-{steps}"
        result = root / "result.json"  # a finished method is not run again (same --work)
        if not result.exists():
            data = case.make_data(root / "data")
            out = root / "outputs"
            full = train(case.method, data, out, "full", steps, case.extra)
            killed = killed_run(case, data, out, steps)
            killed_psnr = psnr(killed)
            resumed = train(
                case.method,
                data,
                out,
                "resumed",
                steps,
                [*case.extra, "--load-dir", str(killed.parent / "nerfstudio_models")],
            )
            result.write_text(json.dumps([case.method, steps, killed_psnr, psnr(full), psnr(resumed)]))
        row = tuple(json.loads(result.read_text()))
        print(
            f"{row[0]} ({row[1]} steps): killed {row[2]:.2f}, uninterrupted {row[3]:.2f}, resumed {row[4]:.2f} dB",
            flush=True,
        )
        rows.append(row)
    method_steps = f" --method-steps '{json.dumps(args.method_steps)}'" if args.method_steps else ""
    lines = [
        "## Resume after kill -9 (bench_resume.py)",
        "",
        (
            "Each method on a small synthetic scene of its own (32x32, 12 train / 4 held-out views; the avatar: "
            "3 cameras x 3 frames), the method's CPU preset (`-small`). The killed run was SIGKILLed mid-step right "
            "after its checkpoint at half the run and resumed with `--load-dir` to the same total. Held-out PSNR "
            "(nerfstudio's eval metrics; deblurgs after its test-time pose fit), dB:"
        ),
        "",
        "| method | steps | at the kill (half the run) | uninterrupted | resumed | resumed - uninterrupted |",
        "|---|---|---|---|---|---|",
        *(f"| {m} | {n} | {k:.2f} | {f:.2f} | {r:.2f} | {r - f:+.2f} |" for m, n, k, f, r in rows),
        "",
        f"Command: `nice -n 5 python benchmarks/bench_resume.py --steps {args.steps}{method_steps}`",
    ]
    if set(args.methods) == {c.method for c in CASES}:
        write_section("resume", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
