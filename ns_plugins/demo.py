"""``make demo``: a synthetic scene, a short CPU training run, held-out metrics and a video.

Runs the real command-line tools a user would (``ns-plugins-synth``'s generator,
``ns-train``, ``ns-eval``, ``ns-render``) and prints where everything is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import tyro

from ns_plugins.data.errors import exits_on_data_error
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.splat.evaluate import heldout_metrics, load_initial_pipeline
from ns_plugins.splat.native_libs import venv_env


@dataclass
class DemoArgs:
    output_dir: Path = Path("demo")
    """Where the dataset, the run, the metrics and the video go (replaced if present)."""
    method: str = "splatfacto-portable"
    steps: int = 300
    seed: int = 0
    size: int = 64
    """Image width and height of the synthetic scene."""


def ns_command(name: str) -> str:
    """Path of an ``ns-*`` console script of this environment."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def run(cmd: list) -> None:
    print("$ " + " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, env=venv_env())  # the venv's ffmpeg for ns-render


def train_eval_render(
    method: str, data: Path, out: Path, steps: int, video: Path, interpolation_steps: int = 4
) -> Path:
    """``ns-train`` a short headless run, ``ns-eval`` it to ``out/eval.json``, ``ns-render`` a video.

    Returns:
        The run's ``config.yml``.
    """
    run(
        [
            ns_command("ns-train"),
            method,
            "--data",
            data,
            "--output-dir",
            out / "outputs",
            "--experiment-name",
            "demo",
            "--timestamp",
            "run",
            "--max-num-iterations",
            steps,
            "--steps-per-save",
            steps,
            "--steps-per-eval-image",
            steps,
            "--vis",
            "tensorboard",
            "--viewer.quit-on-train-completion",
            "True",
        ]
    )
    config = next((out / "outputs").glob("demo/*/run/config.yml"))
    run([ns_command("ns-eval"), "--load-config", config, "--output-path", out / "eval.json"])
    run(
        [
            ns_command("ns-render"),
            "interpolate",
            "--load-config",
            config,
            "--output-path",
            video,
            "--frame-rate",
            12,
            "--interpolation-steps",
            interpolation_steps,
            "--pose-source",
            "train",
        ]
    )
    return config


def main(args: DemoArgs) -> None:
    start = time.time()
    out = args.output_dir.resolve()
    if out.exists():
        shutil.rmtree(out)
    data = generate_dataset(out / "data", seed=args.seed, width=args.size, height=args.size)
    video = out / "render.mp4"
    config = train_eval_render(args.method, data, out, args.steps, video)
    trained = json.loads((out / "eval.json").read_text())["results"]
    initial = heldout_metrics(load_initial_pipeline(config))
    summary = {
        "heldout_psnr_initial": initial["psnr"],
        "heldout_psnr_trained": trained["psnr"],
        "heldout_ssim_trained": trained["ssim"],
        "seconds": round(time.time() - start, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"\nDemo done in {summary['seconds']} s\n"
        f"  dataset:        {data}\n"
        f"  run config:     {config}\n"
        f"  held-out PSNR:  {initial['psnr']:.2f} dB at initialisation -> {trained['psnr']:.2f} dB trained\n"
        f"  metrics:        {out / 'eval.json'}\n"
        f"  video:          {video}\n"
        f"  view it:        {ns_command('ns-viewer')} --load-config {config}\n"
    )


@exits_on_data_error
def entrypoint() -> None:
    main(tyro.cli(DemoArgs))


if __name__ == "__main__":
    entrypoint()
