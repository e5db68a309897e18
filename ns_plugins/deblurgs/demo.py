"""``make demo``: the deblurring demo.

Generates a motion-blurred synthetic scene (``ns-plugins-synth --degradation motion-blur``),
trains ``deblurgs-small`` on the CPU with ``ns-train``, evaluates sharp held-out views with
``ns-eval`` (after test-time pose fitting), renders a sharp mid-exposure video with
``ns-render``, and prints the PSNR of the blurry inputs and of deblurgs against the sharp
ground truth.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import tyro

from ns_plugins.data.errors import exits_on_data_error
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.demo import ns_command, train_eval_render


@dataclass
class DemoArgs:
    output_dir: Path = Path("demo")
    """Where the dataset, the run, the metrics and the video go (replaced if present)."""
    method: str = "deblurgs-small"
    steps: int = 800
    """Training steps: ~50 updates of each image's trajectory with 16 views."""
    seed: int = 0
    size: int = 64
    """Image width and height of the synthetic scene."""
    num_train: int = 16
    num_test: int = 4
    blur_deg: float = 8.0
    """Camera rotation during each exposure (degrees); ~10 pixels of blur at 64 px."""


def main(args: DemoArgs) -> None:
    from ns_plugins.deblurgs.evaluation import blurry_input_metrics, train_view_metrics
    from ns_plugins.splat.evaluate import load_trained_pipeline

    start = time.time()
    out = args.output_dir.resolve()
    if out.exists():
        shutil.rmtree(out)
    print(
        f"generating a motion-blurred synthetic scene ({args.num_train} blurry training views, "
        f"{args.size}x{args.size})",
        flush=True,
    )
    data = generate_dataset(
        out / "data",
        seed=args.seed,
        num_train=args.num_train,
        num_test=args.num_test,
        width=args.size,
        height=args.size,
        num_seed_points=2000,
        degradation="motion-blur",
        degradation_options={"rotation_deg": args.blur_deg},
    )
    video = out / "sharp.mp4"
    config = train_eval_render(args.method, data, out, args.steps, video, interpolation_steps=3)
    heldout = json.loads((out / "eval.json").read_text())["results"]
    pipeline, _ = load_trained_pipeline(config)
    blurry = blurry_input_metrics(data)
    sharp = train_view_metrics(pipeline, data)
    summary = {
        "blurry_inputs_psnr": blurry["psnr"],
        "deblurgs_train_views_psnr": sharp["psnr"],
        "deblurgs_heldout_psnr": heldout["psnr"],
        "deblurgs_heldout_psnr_before_pose_fit": heldout.get("psnr_before_pose_fit"),
        "seconds": round(time.time() - start, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"\nDemo done in {summary['seconds']} s (PSNR against the sharp ground truth)\n"
        f"  blurry training photos:               {blurry['psnr']:.2f} dB\n"
        f"  deblurgs, same views (mid-exposure):  {sharp['psnr']:.2f} dB\n"
        f"  deblurgs, held-out views:             {heldout['psnr']:.2f} dB after test-time pose fit "
        f"({heldout.get('psnr_before_pose_fit', float('nan')):.2f} dB before)\n"
        f"  dataset:        {data}\n"
        f"  run config:     {config}\n"
        f"  metrics:        {out / 'eval.json'}, {out / 'summary.json'}\n"
        f"  sharp video:    {video}\n"
        f"  view it:        {ns_command('ns-viewer')} --load-config {config}\n"
    )


@exits_on_data_error
def entrypoint() -> None:
    main(tyro.cli(DemoArgs))


if __name__ == "__main__":
    entrypoint()
