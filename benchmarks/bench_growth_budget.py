"""Bounded growth on a real capture: splatfacto-portable's step time and Gaussian count over a run.

    python benchmarks/bench_growth_budget.py --data /work/shared/data/blurtea --steps 1500 [--write]
    python benchmarks/bench_growth_budget.py --summarize /tmp/bench_growth_budget/samples.txt [--write]

Runs ``nice -n 5 ns-train splatfacto-portable ... deblur-nerf-data --data DATA --eval-mode all`` (every
photo trains; the CPU default budget ``cpu_max_gaussians`` applies unless ``--extra`` sets another) and
every 10 s samples: the run's CPU time (utime + stime of the ns-train process, all threads), the last
step nerfstudio printed, the Gaussian count (gsplat's "Now having N GSs" lines) and the 1-min load
average. The table gives, per window of steps, the wall and CPU seconds per step and the count. The
machine is shared: the CPU time is what a step costs whatever else runs, the wall time what it took here.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

Sample = Tuple[float, float, int, int, float]  # unix time, CPU seconds, step, Gaussians, load
_STEP = re.compile(r"^(?:\x1b\[[0-9;]*[A-Za-z])*(\d+) \([0-9.]+%\)", re.M)
_COUNT = re.compile(r"Now having (\d+) GSs")


def sample_run(cmd: List[str], log: Path, samples: Path, every: float = 10.0) -> int:
    """Run ``cmd`` (output to ``log``), appending a sample line to ``samples`` every ``every`` seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    with open(log, "w") as out, open(samples, "w") as rec:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(every)
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                break
            cpu = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            text = log.read_text(errors="replace")
            steps, counts = _STEP.findall(text), _COUNT.findall(text)
            if steps:
                rec.write(
                    f"{time.time():.0f} {cpu:.2f} {steps[-1]} {counts[-1] if counts else 0} {os.getloadavg()[0]:.2f}\n"
                )
                rec.flush()
        return proc.wait()


def read_samples(path: Path) -> List[Sample]:
    """Sample lines -> tuples (CPU time in seconds)."""
    out = []
    for line in path.read_text().split("\n"):
        parts = line.split()
        if len(parts) == 5:
            out.append((float(parts[0]), float(parts[1]), int(parts[2]), int(parts[3]), float(parts[4])))
    return out


def window_table(samples: List[Sample], window: int = 100) -> str:
    """Markdown table: per window of about ``window`` steps, wall and CPU seconds per step, Gaussians, load;
    last row: the whole sampled span."""
    lines = ["| steps | Gaussians at the end | wall s/step | CPU s/step | mean 1-min load |", "|---|---|---|---|---|"]

    def row(a: Sample, b: Sample, bold: bool = False) -> str:
        loads = [x[4] for x in samples if a[0] <= x[0] <= b[0]]
        n = b[2] - a[2]
        wall, cpu = f"{(b[0] - a[0]) / n:.2f}", f"{(b[1] - a[1]) / n:.2f}"
        if bold:
            wall, cpu = f"**{wall}**", f"**{cpu}**"
        return f"| {a[2]}-{b[2]} | {b[3]} | {wall} | {cpu} | {sum(loads) / len(loads):.1f} |"

    start = samples[0]
    for s in samples[1:]:
        if s[2] - start[2] >= window or (s is samples[-1] and s[2] > start[2]):
            lines.append(row(start, s))
            start = s
    if samples[-1][2] > samples[0][2]:
        lines.append(row(samples[0], samples[-1], bold=True))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/blurtea"))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench_growth_budget"))
    parser.add_argument("--extra", nargs="*", default=[], help="more ns-train arguments (before the dataparser)")
    parser.add_argument("--summarize", type=Path, help="only tabulate an earlier samples file")
    parser.add_argument("--write", action="store_true", help="update the section in benchmarks/RESULTS.md")
    args = parser.parse_args()

    if args.summarize:
        samples_path = args.summarize
    else:
        from ns_plugins.demo import ns_command

        args.work_dir.mkdir(parents=True, exist_ok=True)
        samples_path = args.work_dir / "samples.txt"
        cmd = [
            "nice",
            "-n",
            "5",
            ns_command("ns-train"),
            "splatfacto-portable",
            "--output-dir",
            str(args.work_dir),
            "--experiment-name",
            "growth",
            "--timestamp",
            "t",
            "--max-num-iterations",
            str(args.steps),
            "--steps-per-save",
            str(args.steps),
            "--steps-per-eval-image",
            str(args.steps),
            "--steps-per-eval-all-images",
            str(10 * args.steps),
            "--vis",
            "tensorboard",
            "--viewer.quit-on-train-completion",
            "True",
            *args.extra,
            "deblur-nerf-data",
            "--data",
            str(args.data),
            "--eval-mode",
            "all",
        ]
        print("$ " + " ".join(cmd), flush=True)
        if sample_run(cmd, args.work_dir / "train.log", samples_path) != 0:
            sys.exit(f"ns-train failed: see {args.work_dir / 'train.log'}")
    table = window_table(read_samples(samples_path))
    print(table)
    if args.write:
        from bench_common import write_section

        write_section(
            "growth_budget",
            "\n".join(
                [
                    "## Bounded growth: splatfacto-portable on a real capture (CPU)",
                    "",
                    f"Command: `python benchmarks/bench_growth_budget.py --data {args.data} --steps {args.steps}` "
                    f"(samples: `{samples_path}`).",
                    "",
                    table,
                ]
            ),
        )


if __name__ == "__main__":
    main()
