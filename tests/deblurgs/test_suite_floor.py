"""The variation suite's smallest scene (bench_deblurgs.py --suite, "small-weak-straight": 12 views of
48x48, 2 degrees of straight blur) as a floor: short runs of the blurry-trained baseline and
deblurgs-small, scored as the suite scores them. Blur costs the baseline almost nothing here, so this
guards the other side: deblurgs must not lose the scene where there is little blur to undo."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cli import run, train_args

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_deblurgs as bench  # noqa: E402

STEPS = 400


SEEDS = (42, 3)
"""deblurgs-small's machine seeds: its floor is on their mean (a single run's figures swing by over a dB)."""


def test_smallest_suite_scene_keeps_the_scene(tmp_path: Path) -> None:
    scene = next(s for s in bench.SUITE if s.name == "small-weak-straight")
    data = bench.suite_dataset(scene, tmp_path / "data")
    out = tmp_path / "outputs"
    runs = [("splatfacto-portable", "baseline", ())] + [
        ("deblurgs-small", f"deblurgs-{seed}", ("--machine.seed", seed)) for seed in SEEDS
    ]
    scores = {}
    for method, name, extra in runs:
        run(*train_args(method, data, out, name, STEPS, "--steps-per-eval-all-images", 100000, *extra), cwd=tmp_path)
        config = next(out.glob(f"{name}/*/t/config.yml"))
        scores[name] = bench.evaluate(config, data, pose_fit_steps=50, with_step_cost=False)
    base = scores["baseline"]
    deblur = {
        key: sum(scores[f"deblurgs-{seed}"][key] for seed in SEEDS) / len(SEEDS)
        for key in ("heldout_psnr", "heldout_psnr_before_fit", "subframe_rotation_error_deg")
    }
    # measured with the preset (centre weight 30, before the 15% correction hold), seeds 42 / 3: -1.36 / +0.08 dB
    # after the pose fit, -1.71 / +0.13 at the given poses, sub-frames 0.8-0.9 deg (centre weight 10, seed 42:
    # -0.33, -0.90, 0.90; no prior: -0.57, -1.48, 0.88; the suite, 1500 steps: within 0.45 dB of the baseline). The
    # given-pose figure swings most between runs (RESULTS.md, suite notes), so its floor is looser: it catches a
    # lost scene, not a slightly misplaced one.
    assert deblur["heldout_psnr"] >= base["heldout_psnr"] - 1.0, scores
    assert deblur["heldout_psnr_before_fit"] >= base["heldout_psnr_before_fit"] - 2.5, scores
    assert deblur["subframe_rotation_error_deg"] < 2.5, scores
