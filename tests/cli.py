"""Running the package's and nerfstudio's console scripts from tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ns_plugins.splat.native_libs import venv_env


def ns(name: str) -> str:
    """Path of a console script (``ns-train``, ...) of the running environment."""
    return str(Path(sys.executable).parent / name)


def run(*cmd: object, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command; with ``check``, fail the test with the tail of its output."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env=venv_env())
    if check:
        assert proc.returncode == 0, f"{cmd[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def train_args(method: str, data: Path, out: Path, name: str, steps: int, *extra: object) -> list:
    """``ns-train`` arguments for a short headless run saved at ``out/name/<method>/t``."""
    return [
        ns("ns-train"),
        method,
        "--data",
        data,
        "--output-dir",
        out,
        "--experiment-name",
        name,
        "--timestamp",
        "t",
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
        *extra,
    ]
