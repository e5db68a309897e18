"""One ``rasterize()`` for every machine: gsplat's CUDA rasterizer where it can run, the pure-PyTorch
backend (``torch_backend``) everywhere else.

Selection, first match wins:

1. the ``backend`` argument ("gsplat", "torch" or "auto");
2. the environment variable ``NS_PLUGINS_BACKEND`` (same values);
3. "auto": gsplat when the tensors are on CUDA and gsplat's CUDA extension loads, else torch.

gsplat's extension is only imported when CUDA is available: on a CPU machine importing it would
try (and fail, slowly) to JIT-compile CUDA sources.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Dict, Optional, Tuple, Union

import torch
from torch import Tensor
from typing_extensions import Literal

from . import torch_backend

BACKEND_ENV = "NS_PLUGINS_BACKEND"
BackendName = Literal["auto", "gsplat", "torch"]
_CHOICES = ("auto", "gsplat", "torch")


@functools.lru_cache(maxsize=1)
def gsplat_cuda_available() -> bool:
    """True when CUDA is usable and gsplat's compiled CUDA extension loads (checked once)."""
    if not torch.cuda.is_available():
        return False
    try:
        # lazy: may JIT-compile; _C is assigned at run time (None where the extension is missing)
        from gsplat.cuda._backend import _C  # noqa: PLC0415  # pyright: ignore[reportAttributeAccessIssue]
    except Exception:  # missing toolkit, ABI mismatch, failed build, ...
        return False
    return _C is not None


def resolve_backend(device: Union[torch.device, str], backend: Optional[BackendName] = None) -> str:
    """Name of the backend ("gsplat" or "torch") that renders tensors on ``device``.

    ``backend`` overrides the ``NS_PLUGINS_BACKEND`` environment variable, which overrides "auto".
    Forcing "gsplat" where it cannot run raises RuntimeError rather than silently falling back.
    """
    choice = (backend or os.environ.get(BACKEND_ENV) or "auto").lower()
    if choice not in _CHOICES:
        raise ValueError(f"unknown rasterization backend {choice!r}; expected one of {_CHOICES}")
    device = torch.device(device)
    if choice == "torch":
        return "torch"
    usable = device.type == "cuda" and gsplat_cuda_available()
    if choice == "gsplat" and not usable:
        raise RuntimeError(f"backend 'gsplat' needs CUDA tensors and gsplat's CUDA extension (device: {device})")
    return "gsplat" if usable else "torch"


def rasterize(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [(C,) N, D] or [(C,) N, K, 3]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    radius_clip: float = 0.0,
    eps2d: float = 0.3,
    sh_degree: Optional[int] = None,
    packed: bool = True,
    tile_size: int = 16,
    backgrounds: Optional[Tensor] = None,
    render_mode: Literal["RGB", "D", "ED", "RGB+D", "RGB+ED"] = "RGB",
    sparse_grad: bool = False,
    absgrad: bool = False,
    rasterize_mode: Literal["classic", "antialiased"] = "classic",
    channel_chunk: int = 32,
    distributed: bool = False,
    camera_model: Literal["pinhole", "ortho", "fisheye"] = "pinhole",
    covars: Optional[Tensor] = None,
    backend: Optional[BackendName] = None,
) -> Tuple[Tensor, Tensor, Dict]:
    """``gsplat.rendering.rasterization`` on the chosen backend (see the module docstring).

    Returns render_colors [C, H, W, X], render_alphas [C, H, W, 1] and meta, as gsplat does.
    """
    kwargs: Dict[str, Any] = dict(
        near_plane=near_plane,
        far_plane=far_plane,
        radius_clip=radius_clip,
        eps2d=eps2d,
        sh_degree=sh_degree,
        packed=packed,
        tile_size=tile_size,
        backgrounds=backgrounds,
        render_mode=render_mode,
        sparse_grad=sparse_grad,
        absgrad=absgrad,
        rasterize_mode=rasterize_mode,
        channel_chunk=channel_chunk,
        distributed=distributed,
        camera_model=camera_model,
        covars=covars,
    )
    if resolve_backend(means.device, backend) == "gsplat":
        from gsplat.rendering import rasterization as gsplat_rasterization  # noqa: PLC0415

        fn = gsplat_rasterization
    else:
        fn = torch_backend.rasterization
    return fn(means, quats, scales, opacities, colors, viewmats, Ks, width, height, **kwargs)
