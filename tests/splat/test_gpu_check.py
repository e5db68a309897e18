"""benchmarks/gpu_check.py on a CPU: the calls half against the torch fallback; the GPU half says it was skipped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gpu_check  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU half; a GPU runs the full script")
def test_cpu_half_passes_and_says_gpu_half_skipped(capsys):
    assert gpu_check.main(["--gaussians", "200", "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "All calls within 0.0001 relative: yes." in out
    assert "GPU half skipped" in out
    for call in gpu_check.CALLS:
        assert f"- {call.name}: worst relative error" in out


def test_relative_errors_flag_missing_and_different_tensors():
    a = {"x": torch.ones(3), "y": torch.ones(2)}
    b = {"x": torch.ones(3) * 1.001, "z": torch.ones(2)}
    err = gpu_check.relative_errors(a, b)
    assert err["x"] == pytest.approx(0.001 / 1.001, rel=1e-3)
    assert err["y"] == float("inf") and err["z"] == float("inf")
