"""kill -9 during training (mid-step, and a checkpoint cut short mid-save), resume, and the run still ends
where an uninterrupted run of the same length ends.

One tiny scene and three ``ns-train`` runs shared by the module: uninterrupted, killed after its first
checkpoint, and resumed from that kill (``--max-num-iterations`` is the total, so it runs the rest).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.splat.evaluate import heldout_metrics, load_trained_pipeline
from ns_plugins.splat.trainer import checkpoint_files
from tests.cli import run, train_args

STEPS = 60
SAVE_AT = 30
METHOD = "splatfacto-portable"


def run_dir(out: Path, name: str) -> Path:
    return out / name / METHOD / "t"


def train_losses(folder: Path) -> dict[int, float]:
    """Step -> logged training loss, from the run's tensorboard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {e.step: e.value for e in events.Scalars("Train Loss")}


def heldout_psnr(folder: Path) -> float:
    pipeline, _ = load_trained_pipeline(folder / "config.yml")
    return heldout_metrics(pipeline)["psnr"]


def kill_after_first_checkpoint(cmd: list, cwd: Path, ckpt: Path, timeout: float = 600.0) -> None:
    """Start ``cmd``, SIGKILL it as soon as ``ckpt`` exists (it is then mid-step); fail if it ends first."""
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not ckpt.exists():
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("resume")
    data = generate_dataset(root / "data", seed=2, num_train=6, num_test=2, width=20, height=20, num_seed_points=300)
    out = root / "outputs"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")  # tiny images: threads only add overhead on a shared machine
        return train_three_runs(root, data, out)


def train_three_runs(root: Path, data: Path, out: Path) -> dict:
    """Uninterrupted, killed after its first checkpoint (plus a half-written newer one), resumed."""
    run(*train_args(METHOD, data, out, "full", STEPS), cwd=root)

    killed = run_dir(out, "killed")
    ckpt_dir = killed / "nerfstudio_models"
    keep = ("--save-only-latest-checkpoint", "False")
    kill_after_first_checkpoint(
        [*train_args(METHOD, data, out, "killed", STEPS), "--steps-per-save", SAVE_AT, *keep],
        root,
        ckpt_dir / f"step-{SAVE_AT:09d}.ckpt",
    )
    killed_psnr = heldout_psnr(killed)  # the step-SAVE_AT checkpoint, the only one written
    # a kill mid-save of the next checkpoint, as an in-place writer leaves it: half a file
    good = ckpt_dir / f"step-{SAVE_AT:09d}.ckpt"
    partial = ckpt_dir / f"step-{SAVE_AT + 25:09d}.ckpt"
    partial.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    resumed = run(*train_args(METHOD, data, out, "resumed", STEPS, "--load-dir", ckpt_dir), cwd=root)
    return {
        "out": out,
        "killed": killed,
        "partial": partial,
        "killed_psnr": killed_psnr,
        "resumed_log": resumed.stdout + resumed.stderr,
    }


def test_no_partial_checkpoint_left_by_the_kill(runs: dict) -> None:
    for _, path in checkpoint_files(runs["killed"] / "nerfstudio_models"):
        if path != runs["partial"]:
            torch.load(path, map_location="cpu")  # every checkpoint the trainer wrote is whole


def test_truncated_newest_checkpoint_is_skipped_with_one_line(runs: dict) -> None:
    lines = [line for line in runs["resumed_log"].splitlines() if line.startswith("skipping ")]
    assert len(lines) == 1 and str(runs["partial"]) in lines[0] and "truncated or unreadable" in lines[0]
    assert f"step-{SAVE_AT:09d}.ckpt" in runs["resumed_log"]


def test_resume_runs_the_rest_of_the_run(runs: dict) -> None:
    ckpts = checkpoint_files(run_dir(runs["out"], "resumed") / "nerfstudio_models")
    assert [step for step, _ in ckpts] == [STEPS - 1]
    state = torch.load(ckpts[-1][1], map_location="cpu", weights_only=False)
    # Adam's step count continued from the checkpoint: its saved state was restored, not rebuilt
    assert int(state["optimizers"]["means"]["state"][0]["step"]) == STEPS


def test_loss_keeps_falling_after_resume(runs: dict) -> None:
    """The resumed run's losses after the kill are those of an uninterrupted run over the same steps (means
    over windows: a single step's loss depends on which image it drew)."""
    before = train_losses(runs["killed"])
    after = train_losses(run_dir(runs["out"], "resumed"))
    full = train_losses(run_dir(runs["out"], "full"))
    assert min(after) > SAVE_AT

    def mean(losses: dict[int, float], lo: int, hi: int) -> float:
        values = [v for s, v in losses.items() if lo <= s <= hi]
        assert values, (lo, hi, sorted(losses))
        return sum(values) / len(values)

    last_before = mean(before, 0, SAVE_AT)
    first_after = after[min(after)]
    # no jump back towards the initial loss, and the rest of the run as low as the uninterrupted one's (not
    # lower than before the kill: the step schedule (resolution, opacity resets) raises both runs' loss later on)
    assert first_after < 1.5 * last_before, (last_before, first_after)
    assert mean(after, SAVE_AT + 1, STEPS) < 1.25 * mean(full, SAVE_AT + 1, STEPS), (after, full)


def test_resumed_psnr_matches_an_uninterrupted_run(runs: dict) -> None:
    full = heldout_psnr(run_dir(runs["out"], "full"))
    resumed = heldout_psnr(run_dir(runs["out"], "resumed"))
    assert resumed > runs["killed_psnr"] + 0.3, (runs["killed_psnr"], resumed)  # it trained after the resume
    assert abs(resumed - full) < 0.5, (full, resumed)
