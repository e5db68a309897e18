"""nerfstudio 1.1.5 on torch 2.14, offline, without CUDA or system ffmpeg/libusb; a side-effect-free import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import ns_plugins  # noqa: F401  (registers the checkpoint types)
from ns_plugins.splat.native_libs import prefix_libusb_link, venv_bin, venv_env


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


def test_ffmpeg_resolvable_for_the_venvs_commands() -> None:
    """``make install`` links one into the venv where the system has none (ns-render checks PATH)."""
    assert shutil.which("ffmpeg", path=venv_env()["PATH"]) is not None


def test_open3d_imports() -> None:
    import open3d  # noqa: F401  (ns-export imports it at start-up; libusb linked by make install)


_IMPORT_EVERYTHING = """
import json, os, sys
from viser import _client_autobuild
check = _client_autobuild._check_viser_yarn_running
import ns_plugins
from nerfstudio.plugins.registry import discover_methods
from nerfstudio.plugins.registry_dataparser import discover_dataparsers
methods, _ = discover_methods()
discover_dataparsers()
print(json.dumps({"path": os.environ["PATH"], "viser": _client_autobuild._check_viser_yarn_running is check,
                  "ours": sorted(m for m in methods if m.startswith(("splatfacto-portable", "deblurgs")))}))
"""


def _listing(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.is_symlink(), p.lstat().st_mtime_ns) for p in folder.iterdir()}


def test_import_changes_nothing_outside_the_process(tmp_path: Path) -> None:
    """What every ``ns-*`` command does (import ns_plugins and every registered method) leaves PATH,
    HOME, the venv and viser as they were, even where no ffmpeg is on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    path = os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())  # no ffmpeg, no venv commands
    # matplotlib (which nerfstudio imports) keeps its cache under HOME unless told otherwise: not ours
    env = {**os.environ, "HOME": str(home), "PATH": path, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    env.pop("TORCH_HOME", None)
    folders = [venv_bin(), prefix_libusb_link().parent]
    before = [_listing(f) for f in folders]
    proc = subprocess.run([sys.executable, "-c", _IMPORT_EVERYTHING], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["ours"] == ["deblurgs", "deblurgs-small", "splatfacto-portable"]  # the import did happen
    assert seen["path"] == path
    assert seen["viser"], "viser's process scan was replaced"
    created = [str(p.relative_to(home)) for p in home.rglob("*")]
    assert created == [], created
    assert [_listing(f) for f in folders] == before
