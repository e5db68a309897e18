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


def test_smallest_suite_scene_keeps_the_scene(tmp_path: Path) -> None:
    scene = next(s for s in bench.SUITE if s.name == "small-weak-straight")
    data = bench.suite_dataset(scene, tmp_path / "data")
    scores = {}
    for method in ("splatfacto-portable", "deblurgs-small"):
        out = tmp_path / "outputs"
        run(*train_args(method, data, out, method, STEPS, "--steps-per-eval-all-images", 100000), cwd=tmp_path)
        config = next(out.glob(f"{method}/*/t/config.yml"))
        scores[method] = bench.evaluate(config, data, pose_fit_steps=50, with_step_cost=False)
    base, deblur = scores["splatfacto-portable"], scores["deblurgs-small"]
    # measured here with the blur-centre prior: -0.33 dB after the pose fit, -0.90 at the given poses, sub-frames
    # 0.90 deg (the suite, 1500 steps: +0.10, -0.35, 0.40; without the prior here -0.57, -1.48, 0.88). The
    # given-pose figure swings by a dB or more between runs that differ little (RESULTS.md, suite notes), so its
    # floor is looser: it catches a lost scene, not a slightly misplaced one.
    assert deblur["heldout_psnr"] >= base["heldout_psnr"] - 1.0, scores
    assert deblur["heldout_psnr_before_fit"] >= base["heldout_psnr_before_fit"] - 2.5, scores
    assert deblur["subframe_rotation_error_deg"] < 2.5, scores
