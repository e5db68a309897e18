"""Make open3d importable on machines without the system's libusb.

nerfstudio imports open3d (``ns-export`` at start-up, the stock dataparser for seed points);
open3d's wheel links against ``libusb-1.0.so.0`` but does not ship it, so on a fresh machine
``import open3d`` fails. open3d's own RUNPATH includes ``<venv>/lib``; linking the copy of
libusb that the ``libusb-package`` wheel ships there fixes every later import, with no change
to site-packages and no system package.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from pathlib import Path
from typing import Optional

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


def ensure_libusb_for_open3d() -> Optional[Path]:
    """Link the bundled libusb into ``<prefix>/lib`` when the system has none. Returns the link or None."""
    if not sys.platform.startswith("linux") or ctypes.util.find_library("usb-1.0"):
        return None
    link = prefix_libusb_link()
    if link.exists():
        return link
    source = bundled_libusb()
    if source is None or not os.access(link.parent, os.W_OK):
        return None
    tmp = link.with_name(f"{LIBUSB_SONAME}.{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(source)
        tmp.replace(link)  # atomic against concurrent imports
    except OSError:
        return None
    return link


def main() -> None:
    link = ensure_libusb_for_open3d()
    print(f"libusb for open3d: {link or 'system library or not needed'}")


if __name__ == "__main__":
    main()
