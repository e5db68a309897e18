"""deblurgs through nerfstudio's own commands on a tiny blurred scene (CPU):
ns-train -> ns-eval (with test-time pose fit) -> ns-render (sharp) -> trajectory export, a
deblurring-gain floor, and a bad preset stopping with one line."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, cast

import pytest

from ns_plugins.data.synth_cli import generate_dataset

if TYPE_CHECKING:
    from ns_plugins.deblurgs.model import DeblurGSModel
from tests.cli import ns, run, train_args

STEPS = 120
SIZE = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("deblurgs_e2e")
    data = generate_dataset(
        root / "data",
        seed=5,
        num_train=8,
        num_test=2,
        width=SIZE,
        height=SIZE,
        num_seed_points=800,
        degradation="motion-blur",
        degradation_options={"num_subframes": 8, "rotation_deg": 8.0},
    )
    run(
        *train_args(
            "deblurgs-small",
            data,
            root / "outputs",
            "e2e",
            STEPS,
            "--pipeline.model.trajectory.num-subframes",
            4,
            "--pipeline.pose-fit.steps",
            10,
        ),
        cwd=root,
    )
    config = next((root / "outputs").glob("e2e/*/t/config.yml"))
    return {"root": root, "data": data, "config": config}


def test_ns_train_lists_deblurgs() -> None:
    proc = subprocess.run([ns("ns-train"), "--help"], capture_output=True, text=True)
    assert "deblurgs" in proc.stdout and "deblurgs-small" in proc.stdout


def test_eval_reports_before_and_after_pose_fit(trained: dict) -> None:
    out = trained["root"] / "eval.json"
    run(ns("ns-eval"), "--load-config", trained["config"], "--output-path", out, cwd=trained["root"])
    results = json.loads(out.read_text())["results"]
    assert {"psnr", "psnr_before_pose_fit", "ssim_before_pose_fit", "pose_fit_rotation_deg"} <= set(results)
    # the fit keeps the best pose seen, starting from the given one: never worse in its own loss
    assert results["pose_fit_loss_after"] <= results["pose_fit_loss_before"] + 1e-6


def test_render_writes_sharp_video(trained: dict) -> None:
    video = trained["root"] / "sharp.mp4"
    run(
        ns("ns-render"),
        "interpolate",
        "--load-config",
        trained["config"],
        "--output-path",
        video,
        "--interpolation-steps",
        2,
        "--pose-source",
        "train",
        cwd=trained["root"],
    )
    assert video.stat().st_size > 1000


def test_export_trajectories_tum(trained: dict) -> None:
    out = trained["root"] / "traj.tum"
    run(
        ns("ns-deblurgs-export-trajectories"),
        "--load-config",
        trained["config"],
        "--output-path",
        out,
        cwd=trained["root"],
    )
    lines = [line.split() for line in out.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 8 * 4 and all(len(row) == 8 for row in lines)
    timestamps = [float(row[0]) for row in lines]
    assert timestamps == sorted(timestamps)


def test_train_views_render_sharp_at_mid_exposure(trained: dict) -> None:
    """The trained run renders its training views at the estimated mid-exposure pose (the gain floor is
    test_gain.py)."""
    from ns_plugins.deblurgs.evaluation import blurry_input_metrics, train_view_metrics
    from ns_plugins.splat.evaluate import load_trained_pipeline

    pipeline, _ = load_trained_pipeline(trained["config"])
    blurry = blurry_input_metrics(trained["data"])["psnr"]
    sharp = train_view_metrics(pipeline, trained["data"])["psnr"]
    assert sharp > blurry - 6.0, (
        blurry,
        sharp,
    )  # a sanity floor: 120 steps on 8 views do not reach the blurry photos yet


def test_pose_corrections_stay_zero_mean(trained: dict) -> None:
    """deblurgs-small keeps the per-image pose corrections' mean at zero (a projection after each step)."""
    from ns_plugins.splat.evaluate import load_trained_pipeline

    pipeline, _ = load_trained_pipeline(trained["config"])
    model = cast("DeblurGSModel", pipeline.model)
    correction = model.trajectory.pose_correction.detach()
    assert model.config.trajectory.zero_mean_correction
    assert correction.abs().max() > 1e-5  # the images' own corrections did move
    assert correction.mean(0).abs().max() < 1e-7


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--pipeline.model.trajectory.num-subframes", 0, "num-subframes: must be at least 1"),
        ("--pipeline.model.correction-start-fraction", 1.5, "correction-start-fraction: must be in [0, 1)"),
    ],
)
def test_bad_trajectory_setting_is_one_line_error(trained: dict, flag: str, value: float, message: str) -> None:
    proc = run(
        *train_args("deblurgs-small", trained["data"], trained["root"] / "bad", "bad", STEPS, flag, value),
        cwd=trained["root"],
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
