"""DeblurGS on a real motion-blurred capture without sharp ground truth (CPU).

    python benchmarks/bench_deblurgs_real.py --write

Trains ``deblurgs-small`` and ``splatfacto-portable`` on the same photos (``deblur-nerf-data``,
``--downscale-factor``, every view trains: ``--eval-mode all``), same step budget, one run at a
time, and scores the training views with no-reference measures
(``ns_plugins.deblurgs.evaluation.no_reference_metrics``):

- sharpness: mean variance of the Laplacian of the renders at the training poses (deblurgs: at its
  mid-exposure estimate; the baseline: at the photo's pose), against the photos' own;
- fidelity: PSNR of the renders blurred again (deblurgs: its blur model along its learned
  trajectories; the baseline: its render) against the photos, and of the sharp renders;
- seconds per training step (nerfstudio's timer, median of the last half of the run), Gaussians.

A sharper render is not proof of a truer one (ringing and floaters raise the Laplacian too): read
the sharpness with the re-blurred fidelity, and look at the side-by-side PNGs the script writes
(photo | baseline | deblurgs) under ``--work-dir``. ``--write`` replaces this benchmark's section
of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from bench_common import seconds_per_step, train, write_section

if TYPE_CHECKING:
    from nerfstudio.data.dataparsers.base_dataparser import DataparserOutputs

    from ns_plugins.splat.model import PortableSplatModel

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "blurtea"
METHODS = ("splatfacto-portable", "deblurgs-small")


def save_side_by_side(pipelines: dict, out: Path, views: list[int]) -> list[Path]:
    """photo | baseline | deblurgs PNG per training view index in ``views``."""
    from PIL import Image

    from ns_plugins.deblurgs.evaluation import read_image, render_train_views

    renders = {name: render_train_views(p) for name, p in pipelines.items()}
    files = next(iter(pipelines.values())).datamanager.train_dataparser_outputs.image_filenames
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in views:
        row = torch.cat([read_image(Path(files[i])), *(renders[m][i] for m in METHODS)], 1)
        paths.append(out / f"{Path(files[i]).stem}.png")
        Image.fromarray((row.numpy() * 255).round().astype(np.uint8)).save(paths[-1])
    return paths


def markdown(args, rows: dict, load: tuple) -> str:
    date = datetime.date.today().isoformat()
    base, ours = rows["splatfacto-portable"], rows["deblurgs-small"]
    lines = [
        "## DeblurGS on a real capture (blurtea, no sharp ground truth, CPU)",
        "",
        f"Command: `python benchmarks/bench_deblurgs_real.py --write --steps {args.steps} --downscale-factor "
        f"{args.downscale_factor}` — {date}, {platform.machine()}, nproc {os.cpu_count()}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, trainings one at a time under `nice -n 5` on "
        "shared cores.",
        "Data: `../shared/data/blurtea` (38 photos with camera shake, `images_4/` 320x180 resized "
        f"{args.downscale_factor // 4}x by `deblur-nerf-data --downscale-factor {args.downscale_factor}` to "
        f"{ours['width']}x{ours['height']}; COLMAP poses and {ours['seed_points']} COLMAP seed points), every view "
        "trains (`--eval-mode all`). Same step budget; the baseline's densification threshold "
        f"{args.densify_grad_thresh} (deblurgs-small's GDA ends at the same value).",
        "Measured at the 38 training views: Laplacian variance (grey 0..255) of the renders (deblurgs at its "
        "mid-exposure estimate) and of the photos; PSNR against the photos of the renders and of the renders blurred "
        "again (deblurgs along its learned trajectories, at its preset's sub-frames; the baseline is its own re-blur).",
        "",
        "| method | Laplacian var. of renders | (photos) | re-blurred PSNR vs photos | sharp render PSNR vs photos | "
        "Gaussians | s/step |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        r = rows[method]
        lines.append(
            f"| {method} | {r['render_laplacian_var']:.1f} | {r['photo_laplacian_var']:.1f} | "
            f"{r['reblurred_psnr_vs_photo']:.2f} | {r['render_psnr_vs_photo']:.2f} | {r['gaussians']} | "
            f"{r['seconds_per_step']:.3f} |"
        )
    lines += [
        "",
        f"- sharpness, deblurgs / photos: {ours['render_laplacian_var'] / ours['photo_laplacian_var']:.2f}x; "
        f"deblurgs / baseline: {ours['render_laplacian_var'] / base['render_laplacian_var']:.2f}x; baseline / "
        f"photos: {base['render_laplacian_var'] / base['photo_laplacian_var']:.2f}x",
        "- re-blurred fidelity, deblurgs - baseline: "
        f"{ours['reblurred_psnr_vs_photo'] - base['reblurred_psnr_vs_photo']:+.2f} dB",
        f"- step time, deblurgs / baseline: {ours['seconds_per_step'] / base['seconds_per_step']:.2f}x",
        "",
        f"1-min load average {load[0]:.2f} before / {load[1]:.2f} after (2 cores shared with other work: timings are "
        "inflated and noisy).",
    ]
    return "\n".join(lines)


def main() -> None:
    from ns_plugins.deblurgs.evaluation import no_reference_metrics
    from ns_plugins.splat.evaluate import load_trained_pipeline

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--downscale-factor", type=int, default=8, help="of the full 1280x720 photos (images_4/ is 4)")
    parser.add_argument("--densify-grad-thresh", type=float, default=2e-3, help="the baseline's (as bench_deblurgs.py)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "outputs" / "bench_deblurgs_real")
    parser.add_argument(
        "--reuse", action="store_true", help="evaluate earlier runs of the same names instead of training again"
    )
    parser.add_argument("--write", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    data_args = ["deblur-nerf-data", "--downscale-factor", str(args.downscale_factor), "--eval-mode", "all"]
    extra = {
        "splatfacto-portable": ["--pipeline.model.densify-grad-thresh", str(args.densify_grad_thresh)],
        "deblurgs-small": [],
    }
    configs = {  # the slower run first
        m: train(
            m, args.data, args.work_dir / "runs", f"blurtea_{m}", args.steps, [*extra[m], *data_args], reuse=args.reuse
        )
        for m in reversed(METHODS)
    }
    rows, pipelines = {}, {}
    for method, config in configs.items():
        pipeline, _ = load_trained_pipeline(config)
        pipelines[method] = pipeline
        train_dataset = pipeline.datamanager.train_dataset
        assert train_dataset is not None  # the trained pipeline's datamanager loads the training split
        cameras = train_dataset.cameras
        # set by the datamanager's __init__; nerfstudio's DataManager base class does not declare it
        outputs = cast("DataparserOutputs", pipeline.datamanager.train_dataparser_outputs)
        seeds = outputs.metadata.get("points3D_xyz")
        rows[method] = {
            **no_reference_metrics(pipeline),
            "gaussians": int(cast("PortableSplatModel", pipeline.model).num_points),
            "seconds_per_step": seconds_per_step(config),
            "width": int(cameras.width[0]),
            "height": int(cameras.height[0]),
            "seed_points": 0 if seeds is None else int(seeds.shape[0]),
        }
        print(json.dumps({"method": method, **rows[method]}, indent=1), flush=True)
    for path in save_side_by_side(pipelines, args.work_dir / "side_by_side", [0, 12, 25]):
        print(f"wrote {path}")
    text = markdown(args, rows, (load_before, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_section("deblurgs_real", text, before="learn2talk")
        print("wrote benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
