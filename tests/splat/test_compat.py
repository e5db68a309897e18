"""nerfstudio 1.1.5 on torch 2.14, offline, without CUDA or system ffmpeg/libusb."""

from __future__ import annotations

import shutil

import numpy as np
import torch

import ns_plugins  # noqa: F401  (applies the fixes)
from ns_plugins.splat import compat


def test_checkpoint_with_numpy_scalars_loads_weights_only(tmp_path) -> None:
    state = {
        "step": 3,
        "pipeline": {"w": torch.ones(2)},
        "optimizers": {"means": {"param_groups": [{"lr": np.float64(1e-3), "initial_lr": np.float32(2.0)}]}},
        "schedulers": {"means": {"_last_lr": [np.float64(1e-4)], "base": np.array([1.0, 2.0])}},
    }
    path = tmp_path / "step-000000003.ckpt"
    torch.save(state, path)
    loaded = torch.load(path, map_location="cpu")  # weights_only=True is torch's default
    assert loaded["optimizers"]["means"]["param_groups"][0]["lr"] == np.float64(1e-3)


def test_ffmpeg_resolvable() -> None:
    compat.put_ffmpeg_on_path()
    assert shutil.which("ffmpeg") is not None


def test_open3d_imports() -> None:
    import open3d  # noqa: F401  (ns-export imports it at start-up)


def test_viser_process_scan_survives_a_process_exiting_mid_scan() -> None:
    import psutil
    from viser import _client_autobuild

    assert getattr(_client_autobuild._check_viser_yarn_running, "_ns_plugins_guarded", False)
    calls = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise psutil.NoSuchProcess(pid=12345)
        return False

    assert compat.race_free_yarn_check(flaky)() is False and len(calls) == 2

    def always_gone() -> bool:
        raise psutil.NoSuchProcess(pid=12345)

    assert compat.race_free_yarn_check(always_gone, attempts=3)() is False
