"""Install-time fixes to the venv for machines without the system's ffmpeg or libusb.

Run once by ``make install`` (``python -m ns_plugins.splat.native_libs``); importing the package
never does this. Both write inside the venv only (``sys.prefix``):

- open3d (nerfstudio imports it: ``ns-export`` at start-up, the stock dataparser for seed points)
  links against ``libusb-1.0.so.0`` but its wheel does not ship it, so on a fresh machine
  ``import open3d`` fails. open3d's own RUNPATH includes ``<venv>/lib``; the copy of libusb that
  the ``libusb-package`` wheel ships is linked there.
- ``ns-render`` needs an ``ffmpeg`` on PATH (it checks ``shutil.which``, mediapy runs it). The
  binary that ``imageio-ffmpeg`` ships is linked as ``<venv>/bin/ffmpeg``, which is on PATH
  wherever the venv's commands are (an activated venv; :func:`venv_env` for our own children).
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, Optional

from ns_plugins.splat.compat import ffmpeg_executable

LIBUSB_SONAME = "libusb-1.0.so.0"


def bundled_libusb() -> Optional[Path]:
    """libusb shipped by the ``libusb-package`` wheel, if installed."""
    try:
        import libusb_package
    except ImportError:
        return None
    path = libusb_package.get_library_path()
    return Path(path) if path and Path(path).exists() else None


def prefix_libusb_link() -> Path:
    """Where open3d's RUNPATH (``$ORIGIN/../../../``) looks: ``<sys.prefix>/lib``."""
    return Path(sys.prefix) / "lib" / LIBUSB_SONAME


def venv_bin() -> Path:
    """The venv's command folder (``<sys.prefix>/bin``), where its ``ns-*`` scripts are."""
    return Path(sys.executable).parent


def _link(link: Path, source: Path) -> Optional[Path]:
    """Atomically (re)point ``link`` at ``source``; None when the folder is not writable."""
    if not os.access(link.parent, os.W_OK):
        return None
    tmp = link.with_name(f"{link.name}.{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(source)
        tmp.replace(link)  # atomic against a concurrent install
    except OSError:
        return None
    return link


def ensure_libusb_for_open3d() -> Optional[Path]:
    """Link the bundled libusb into ``<prefix>/lib`` when the system has none. Returns the link or None."""
    if not sys.platform.startswith("linux") or ctypes.util.find_library("usb-1.0"):
        return None
    link = prefix_libusb_link()
    if link.exists():
        return link
    source = bundled_libusb()
    return None if source is None else _link(link, source)


def ensure_ffmpeg_in_venv() -> Optional[Path]:
    """Link imageio-ffmpeg's binary as ``<venv>/bin/ffmpeg`` when no ffmpeg is on PATH. Returns the link or None."""
    link = venv_bin() / "ffmpeg"
    if link.exists():
        return link
    if shutil.which("ffmpeg"):
        return None  # the system's
    exe = ffmpeg_executable()
    return None if exe is None else _link(link, Path(exe))


def venv_env() -> Dict[str, str]:
    """This process's environment with the venv's commands first on PATH (as an activated venv has it),
    for the ``ns-*`` commands our tools run (``ns-render`` looks for ``ffmpeg`` there)."""
    path = os.environ.get("PATH", "")
    return {**os.environ, "PATH": f"{venv_bin()}{os.pathsep}{path}" if path else str(venv_bin())}


def main() -> None:
    print(f"libusb for open3d: {ensure_libusb_for_open3d() or 'system library or not needed'}")
    print(f"ffmpeg: {ensure_ffmpeg_in_venv() or shutil.which('ffmpeg') or 'none (pip install imageio-ffmpeg)'}")


if __name__ == "__main__":
    main()
