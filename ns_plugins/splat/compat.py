"""Fixes that nerfstudio 1.1.5 needs on torch >= 2.6, without a GPU and offline.

Applied once when ``ns_plugins`` is imported (every ``ns-*`` command imports our
method configs through the entry points), so no site-packages file is patched.
See DESIGN.md section 4 for the list of what breaks and why.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ns_plugins.splat.native_libs import ensure_libusb_for_open3d

_applied = False


def checkpoint_safe_globals() -> list:
    """The non-tensor types found in nerfstudio 1.1.5 checkpoints.

    torch >= 2.6 loads with ``weights_only=True`` by default and rejects numpy scalars,
    which nerfstudio's optimizers/schedulers leave in their state dicts.
    """
    types: list = [np.dtype, np.ndarray]
    try:  # numpy >= 1.25 keeps scalar reconstruction here; older numpy under np.core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - depends on numpy version
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[no-redef]
    types += [scalar, _reconstruct]
    # the dtype classes (np.dtypes.Float64DType, ...) pickled alongside numpy scalars
    types += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    return types


def register_checkpoint_safe_globals() -> None:
    """Let ``torch.load(weights_only=True)`` read nerfstudio checkpoints (ns-eval, ns-render, resume)."""
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is not None:
        add(checkpoint_safe_globals())


def ffmpeg_executable() -> Optional[str]:
    """An ffmpeg binary: the one on PATH, else the one shipped by ``imageio-ffmpeg``."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    return exe if exe and Path(exe).exists() else None


def put_ffmpeg_on_path() -> None:
    """Make ``ffmpeg`` resolvable for ``ns-render`` (which checks ``shutil.which``) and mediapy.

    Without a system ffmpeg, links imageio-ffmpeg's binary as ``ffmpeg`` in a per-user cache
    folder and prepends that folder to ``PATH`` for this process and its children.
    """
    if shutil.which("ffmpeg"):
        return
    exe = ffmpeg_executable()
    if exe is None:
        return
    for base in (Path.home() / ".cache", Path(tempfile.gettempdir())):
        folder = base / "ns_plugins" / "bin"
        link = folder / "ffmpeg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if link.resolve() != Path(exe).resolve():
                tmp = folder / f"ffmpeg.{os.getpid()}"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(exe)
                tmp.replace(link)  # atomic: concurrent imports never see a half-made link
        except OSError:
            continue
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
        return


def race_free_yarn_check(check: Callable[[], bool], attempts: int = 5) -> Callable[[], bool]:
    """viser's start-up scan of all processes (``_check_viser_yarn_running``), retried when a process
    exits mid-scan: viser catches AccessDenied and ZombieProcess but not NoSuchProcess, so a process
    ending at that moment crashed the viewer's start (seen once in a test run with chromium helpers)."""
    import psutil

    @functools.wraps(check)
    def checked() -> bool:
        for _ in range(attempts):
            try:
                return check()
            except psutil.NoSuchProcess:
                continue
        return False  # only a `yarn start` dev client makes this True

    return checked


def guard_viser_process_scan() -> None:
    """Install :func:`race_free_yarn_check` in viser (no-op where viser lacks the check)."""
    try:
        from viser import _client_autobuild
    except ImportError:  # pragma: no cover - viser is a nerfstudio dependency
        return
    check = getattr(_client_autobuild, "_check_viser_yarn_running", None)
    if check is not None and not getattr(check, "_ns_plugins_guarded", False):
        guarded = race_free_yarn_check(check)
        guarded._ns_plugins_guarded = True  # type: ignore[attr-defined]
        _client_autobuild._check_viser_yarn_running = guarded


def apply() -> None:
    """Apply every fix once; safe to call repeatedly."""
    global _applied
    if _applied:
        return
    register_checkpoint_safe_globals()
    put_ffmpeg_on_path()
    ensure_libusb_for_open3d()
    guard_viser_process_scan()
    _applied = True
