"""Backend selection: auto on CPU is torch, the env var and the argument override it."""

from __future__ import annotations

import sys

import pytest
import torch

from ns_plugins.splat import backend as be
from ns_plugins.splat import torch_backend


def _tiny():
    means = torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.05, 0.2]])
    quats = torch.tensor([[1.0, 0, 0, 0], [0.9, 0.1, 0.2, 0]])
    scales = torch.full((2, 3), 0.1)
    opac = torch.tensor([0.8, 0.6])
    colors = torch.rand(2, 3, generator=torch.Generator().manual_seed(0))
    viewmats = torch.eye(4)[None].clone()
    viewmats[0, 2, 3] = 2.0
    Ks = torch.tensor([[[16.0, 0, 8], [0, 16.0, 8], [0, 0, 1]]])
    return means, quats, scales, opac, colors, viewmats, Ks


def test_auto_on_cpu_is_torch(monkeypatch):
    monkeypatch.delenv(be.BACKEND_ENV, raising=False)
    assert be.resolve_backend("cpu") == "torch"
    assert be.resolve_backend(torch.device("cpu"), "auto") == "torch"


def test_env_override(monkeypatch):
    monkeypatch.setenv(be.BACKEND_ENV, "torch")
    assert be.resolve_backend("cpu") == "torch"
    monkeypatch.setenv(be.BACKEND_ENV, "gsplat")
    if not be.gsplat_cuda_available():
        with pytest.raises(RuntimeError):
            be.resolve_backend("cpu")
    monkeypatch.setenv(be.BACKEND_ENV, "nonsense")
    with pytest.raises(ValueError):
        be.resolve_backend("cpu")


def test_argument_beats_env(monkeypatch):
    monkeypatch.setenv(be.BACKEND_ENV, "gsplat")
    assert be.resolve_backend("cpu", backend="torch") == "torch"
    monkeypatch.setenv(be.BACKEND_ENV, "torch")
    if not be.gsplat_cuda_available():
        with pytest.raises(RuntimeError):
            be.resolve_backend("cpu", backend="gsplat")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-only check")
def test_no_gsplat_cuda_import_on_cpu(monkeypatch):
    monkeypatch.delenv(be.BACKEND_ENV, raising=False)
    be.gsplat_cuda_available.cache_clear()
    before = "gsplat.cuda._backend" in sys.modules
    assert not be.gsplat_cuda_available()
    be.rasterize(*_tiny(), 16, 16)
    assert ("gsplat.cuda._backend" in sys.modules) == before


def test_rasterize_dispatches_to_torch_backend(monkeypatch):
    monkeypatch.delenv(be.BACKEND_ENV, raising=False)
    calls = []
    real = torch_backend.rasterization

    def spy(*a, **k):
        calls.append(k)
        return real(*a, **k)

    monkeypatch.setattr(torch_backend, "rasterization", spy)
    rc, ra, meta = be.rasterize(*_tiny(), 16, 16, packed=False, render_mode="RGB+D", backend="auto")
    assert len(calls) == 1 and calls[0]["render_mode"] == "RGB+D" and calls[0]["packed"] is False
    assert rc.shape == (1, 16, 16, 4) and ra.shape == (1, 16, 16, 1) and meta["n_cameras"] == 1
    assert ra.max() > 0.5
