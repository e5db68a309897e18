"""GPU check: gsplat's CUDA rasterizer against our backend on every method's call, then every method
trained through gsplat. One script for a lent GPU (under 8 minutes on one card).

    python benchmarks/gpu_check.py            # GPU: both halves; CPU: the torch half only
    python benchmarks/gpu_check.py --write    # also record the figures in benchmarks/RESULTS.md

1. Calls. The rasterize calls the methods make (``PortableSplatModel.render_gaussians``):
   splatfacto's RGB+ED with SH degree 3, absgrad and a background; contrastive-gc's 16 feature
   channels + RGB in one pass; deblurgs' 5 and 21 sub-frames in one batched call; the antialiased
   mode; absgrad. Each runs forward + backward of a random linear loss. With CUDA, gsplat on the GPU
   is the reference for our backend (C++ kernels on the CPU, the path CPU users run); outputs, input
   gradients, ``means2d.grad`` and ``means2d.absgrad`` must agree within 1e-4 relative
   (|a - b| / |b| over the whole tensor). Without CUDA, the reference is our own torch fallback
   (``NS_PLUGINS_RASTER_KERNEL=torch``, itself tested against a dense brute-force rasterizer).
2. Training (CUDA only). splatfacto-portable, deblurgs-small, rainyscape-small, contrastive-gc-small
   (each on an ``ns-plugins-synth`` scene with its degradation) and learn2talk-small (on
   ``ns-l2t-avatar-synth``), 128 px, 500 steps each, ``NS_PLUGINS_BACKEND=gsplat``; prints seconds
   per step (median of nerfstudio's step timer over the second half of the run).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ns_plugins.splat import torch_backend  # noqa: E402

TOLERANCE = 1e-4
METHODS = ["splatfacto-portable", "deblurgs-small", "rainyscape-small", "contrastive-gc-small", "learn2talk-small"]
DEGRADATION = {
    "deblurgs-small": "motion-blur",
    "rainyscape-small": "rain",
    "contrastive-gc-small": "inconsistent-masks",
}


@dataclass(frozen=True)
class Call:
    """One rasterize call as a method makes it."""

    name: str
    cameras: int = 1
    features: int = 0  # extra per-Gaussian channels rendered with RGB (SH evaluated first, as the model does)
    render_mode: str = "RGB"
    rasterize_mode: str = "classic"
    absgrad: bool = False


CALLS = [
    Call("splatfacto: RGB+ED, SH 3, absgrad, background", render_mode="RGB+ED", absgrad=True),
    Call("contrastive-gc: 16 features + RGB, RGB+ED", features=16, render_mode="RGB+ED"),
    Call("deblurgs: 5 sub-frames in one call", cameras=5),
    Call("deblurgs: 21 sub-frames in one call", cameras=21),
    Call("antialiased", rasterize_mode="antialiased"),
    Call("absgrad", absgrad=True),
]


def make_inputs(call: Call, n: int, size: int, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Gaussians filling a 2x2x2 box that the view just covers, seen by ``call.cameras`` sub-frame poses
    (small rotations and shifts, as along a blurry exposure). float32, CPU."""
    g = torch.Generator().manual_seed(seed)
    inputs = dict(
        means=torch.rand(n, 3, generator=g) * 2 - 1,
        quats=torch.randn(n, 4, generator=g),
        scales=torch.log(0.02 * torch.pow(2.0, torch.rand(n, 3, generator=g))),  # 1-2% of the box
        opacities=torch.logit(0.3 + 0.6 * torch.rand(n, generator=g)),
        sh=torch.randn(n, 16, 3, generator=g) * 0.1,
        features=torch.randn(n, max(call.features, 1), generator=g),
        backgrounds=torch.rand(call.cameras, 3, generator=g),
    )
    inputs["sh"][:, 0] = (torch.rand(n, 3, generator=g) - 0.5) / 0.28209479177387814
    viewmats = torch.eye(4).repeat(call.cameras, 1, 1)
    for c in range(call.cameras):
        t = c / max(1, call.cameras - 1) - 0.5  # exposure time in [-0.5, 0.5]
        a = 0.03 * t
        viewmats[c, :3, :3] = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
        viewmats[c, :3, 3] = torch.tensor([0.05 * t, 0.02 * t, 4.0])
    f = (size / 2) / (1.0 / 3.0)
    inputs["viewmats"] = viewmats
    inputs["Ks"] = torch.tensor([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]]).repeat(call.cameras, 1, 1)
    return inputs


def forward_backward(
    fn: Callable, call: Call, inputs: Dict[str, torch.Tensor], size: int, device: str
) -> Dict[str, torch.Tensor]:
    """The method's call through ``fn`` on ``device``, then backward of a fixed random linear loss.
    Returns outputs and gradients on the CPU."""
    leaves = {k: v.to(device).clone().requires_grad_(k != "Ks") for k, v in inputs.items()}
    means, sh, viewmats = leaves["means"], leaves["sh"], leaves["viewmats"]
    if call.features:
        # the model's path for extra channels: SH -> RGB outside the rasterizer, then one pass
        from ns_plugins.splat.sh import eval_sh_colors

        rgb = eval_sh_colors(3, means, sh, viewmats)
        colors = torch.cat([rgb, leaves["features"][None].expand(call.cameras, -1, -1)], dim=-1)
        sh_degree = None
        bg = torch.cat([leaves["backgrounds"], torch.zeros(call.cameras, call.features, device=device)], dim=-1)
    else:
        colors, sh_degree, bg = sh, 3, leaves["backgrounds"]
    rc, ra, meta = fn(
        means=means,
        quats=leaves["quats"],
        scales=torch.exp(leaves["scales"]),
        opacities=torch.sigmoid(leaves["opacities"]),
        colors=colors,
        viewmats=viewmats,
        Ks=leaves["Ks"],
        width=size,
        height=size,
        sh_degree=sh_degree,
        packed=False,
        backgrounds=bg,
        render_mode=call.render_mode,
        rasterize_mode=call.rasterize_mode,
        absgrad=call.absgrad,
    )
    meta["means2d"].retain_grad()
    g = torch.Generator().manual_seed(1)
    wc, wa = torch.randn(rc.shape, generator=g).to(device), torch.randn(ra.shape, generator=g).to(device)
    ((rc * wc).sum() + (ra * wa).sum()).backward()
    out = {"render_colors": rc, "render_alphas": ra, "means2d.grad": meta["means2d"].grad}
    if call.absgrad:
        out["means2d.absgrad"] = meta["means2d"].absgrad
    out.update({f"d_{k}": v.grad for k, v in leaves.items() if v.grad is not None})
    return {k: v.detach().float().cpu() for k, v in out.items()}


def relative_errors(ours: Dict[str, torch.Tensor], ref: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """|ours - ref| / |ref| (Frobenius norms) per tensor; inf where one side lacks the tensor."""
    errors = {}
    for k in sorted(set(ours) | set(ref)):
        if k not in ours or k not in ref or ours[k].shape != ref[k].shape:
            errors[k] = float("inf")
            continue
        errors[k] = float((ours[k] - ref[k]).norm() / ref[k].norm().clamp_min(1e-12))
    return errors


@contextmanager
def raster_kernel(kernel: str) -> Iterator[None]:
    """Force our backend's kernels ("cpp" or "torch") inside the block."""
    old = os.environ.get(torch_backend.KERNEL_ENV)
    os.environ[torch_backend.KERNEL_ENV] = kernel
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(torch_backend.KERNEL_ENV, None)
        else:
            os.environ[torch_backend.KERNEL_ENV] = old


def check_calls(n: int, size: int, use_gsplat: bool) -> List[Tuple[str, float, str, bool]]:
    """Every call of CALLS, ours against the reference -> (call, worst relative error, its tensor, ok)."""
    rows = []
    for call in CALLS:
        inputs = make_inputs(call, n, size)
        with raster_kernel("auto"):
            ours = forward_backward(torch_backend.rasterization, call, inputs, size, "cpu")
        if use_gsplat:
            from gsplat.rendering import rasterization as gsplat_rasterization  # noqa: PLC0415

            ref = forward_backward(gsplat_rasterization, call, inputs, size, "cuda")
        else:
            with raster_kernel("torch"):
                ref = forward_backward(torch_backend.rasterization, call, inputs, size, "cpu")
        errors = relative_errors(ours, ref)
        worst = max(errors, key=lambda k: errors[k])
        rows.append((call.name, errors[worst], worst, errors[worst] <= TOLERANCE))
    return rows


def make_dataset(method: str, root: Path, size: int) -> Path:
    """The method's 128 px synthetic training data."""
    if method == "learn2talk-small":
        from ns_plugins.learn2talk.synth.avatar_capture import generate_avatar_dataset

        return generate_avatar_dataset(root / "avatar", width=size, height=size, overwrite=True)
    from ns_plugins.data.synth_cli import generate_dataset

    degradation = DEGRADATION.get(method, "none")
    return generate_dataset(
        root / degradation,
        num_train=16,
        num_test=4,
        width=size,
        height=size,
        num_seed_points=2000,
        degradation=degradation,
        overwrite=True,
    )


def train_methods(steps: int, size: int, work: Path) -> List[Tuple[str, float, float]]:
    """Each method trained through gsplat -> (method, seconds per step, wall seconds of the ns-train run)."""
    from bench_common import seconds_per_step, train

    rows = []
    os.environ["NS_PLUGINS_BACKEND"] = "gsplat"  # fail rather than fall back to our backend
    datasets: Dict[str, Path] = {}
    for method in METHODS:
        key = DEGRADATION.get(method, "avatar" if method == "learn2talk-small" else "none")
        if key not in datasets:
            datasets[key] = make_dataset(method, work / "data", size)
        t0 = time.time()
        config = train(method, datasets[key], work / "runs", method, steps, extra=["--machine.device-type", "cuda"])
        rows.append((method, seconds_per_step(config), time.time() - t0))
        print(f"{method}: {rows[-1][1] * 1e3:.1f} ms/step ({rows[-1][2]:.0f} s for the whole run)", flush=True)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gaussians", type=int, default=20000, help="Gaussians in each checked call")
    parser.add_argument("--size", type=int, default=128, help="image side of the calls and the training scenes")
    parser.add_argument("--steps", type=int, default=500, help="training steps per method")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/gpu_check"))
    parser.add_argument("--write", action="store_true", help="record the figures in benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    from ns_plugins.splat.backend import gsplat_cuda_available

    use_gsplat = gsplat_cuda_available()
    t0 = time.time()
    ref_name = "gsplat CUDA" if use_gsplat else "our torch fallback (no CUDA)"
    lines = [
        f"Calls ({args.gaussians} Gaussians, {args.size}x{args.size}; ours: C++ kernels on the CPU; "
        f"reference: {ref_name}):"
    ]
    rows = check_calls(args.gaussians, args.size, use_gsplat)
    for name, err, worst, ok in rows:
        lines.append(f"- {name}: worst relative error {err:.1e} ({worst}) {'ok' if ok else 'FAIL'}")
    all_ok = all(ok for *_, ok in rows)
    lines.append(f"All calls within {TOLERANCE:g} relative: {'yes' if all_ok else 'NO'}.")
    print("\n".join(lines), flush=True)
    if use_gsplat:
        device = torch.cuda.get_device_name(0)
        lines.append(f"\nTraining through gsplat on {device}, {args.size} px synthetic scenes, {args.steps} steps:")
        for method, sps, wall in train_methods(args.steps, args.size, args.work_dir):
            lines.append(f"- {method}: {sps * 1e3:.1f} ms/step (ns-train run {wall:.0f} s)")
    else:
        lines.append(
            "GPU half skipped: no CUDA device with gsplat's kernels here (the calls were checked against "
            "the torch fallback instead of gsplat, and no method was trained through gsplat)."
        )
        print(lines[-1])
    lines.append(f"Total {time.time() - t0:.0f} s.")
    print(lines[-1])
    if args.write:
        from bench_common import write_section

        command = " ".join(["python benchmarks/gpu_check.py", *(argv or sys.argv[1:])])
        write_section(
            "gpu_check", "\n".join(["## GPU check (gsplat vs our backend)", "", f"Command: `{command}`", "", *lines])
        )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
