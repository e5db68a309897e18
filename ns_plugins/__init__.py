"""ns-plugins: nerfstudio methods for four 2024 Gaussian-splatting papers.

Importing the package (nerfstudio does, for every ``ns-*`` command) only registers the numpy types
in nerfstudio 1.1.5 checkpoints as safe for ``torch.load`` (see ``ns_plugins.splat.compat``); the
environment fixes (ffmpeg, libusb for open3d) are made once, inside the venv, by ``make install``
(``ns_plugins.splat.native_libs``).
"""

__version__ = "0.1.0"

from ns_plugins.splat.compat import register_checkpoint_safe_globals as _register_checkpoint_safe_globals

_register_checkpoint_safe_globals()
