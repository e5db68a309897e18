"""What nerfstudio 1.1.5 needs from this package on torch >= 2.6, at import.

Only the registration of the numpy types found in nerfstudio checkpoints happens when
``ns_plugins`` is imported (every ``ns-*`` command imports our method configs through the entry
points); it touches nothing outside this process. Fixes to the environment (ffmpeg, libusb) are
made at install time by :mod:`ns_plugins.splat.native_libs`. See DESIGN.md section 4.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

import numpy as np
import torch


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
