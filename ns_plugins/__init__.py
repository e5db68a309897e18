"""ns-plugins: nerfstudio methods for four 2024 Gaussian-splatting papers.

Importing the package applies the nerfstudio 1.1.5 / torch 2.14 compatibility fixes
(see ``ns_plugins.splat.compat``) so that checkpoints load and video export works.
"""

__version__ = "0.1.0"

from ns_plugins.splat import compat as _compat

_compat.apply()
