"""Speed of the torch rasterization backend (forward + backward), C++ kernel and torch fallback.

    python benchmarks/bench_rasterizer.py            # print a markdown table
    python benchmarks/bench_rasterizer.py --write    # also update benchmarks/RESULTS.md

The scene is splatfacto-like: Gaussians filling a 2x2x2 box in front of the camera (which the view
just covers), scales log-uniform in 1-2% of the box size, opacities 0.5-0.9, SH degree 3, and the
call splatfacto makes (packed=False, render_mode="RGB+ED", absgrad=True, a background). Timing is
the median over repeats after a warm-up, of rasterization() + backward of a random linear loss,
in wall-clock time and in this process's CPU time (all threads): the machine is shared, and the CPU
time is what the run costs whatever else runs beside it. The torch fallback is timed at the two
small sizes only (it needs minutes and gigabytes at the large ones).
With a CUDA GPU, gsplat's rasterization is timed on the same scene and its outputs and gradients
compared with the torch backend's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Literal, Tuple, Union, overload

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ns_plugins.splat import build_kernels  # noqa: E402
from ns_plugins.splat import torch_backend as tb  # noqa: E402

RESULTS = Path(__file__).parent / "RESULTS.md"
START, END = "<!-- bench_rasterizer:start -->", "<!-- bench_rasterizer:end -->"
CONFIGS = [(64, 2000), (128, 10000), (256, 50000), (512, 200000)]  # (image side, Gaussians)
TARGETS = {(64, 2000): 0.06, (128, 10000): 0.5, (256, 50000): 0.5, (512, 200000): 1.5}  # s, fwd+bwd, 2 threads
FALLBACK_MAX_GAUSSIANS = 10000  # larger scenes: C++ kernel only


def make_scene(side: int, n: int, device: str = "cpu", seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    means = torch.rand(n, 3, generator=g) * 2 - 1  # box [-1, 1]^3, extent 2
    quats = torch.randn(n, 4, generator=g)
    scales = 0.02 * torch.pow(2.0, torch.rand(n, 3, generator=g))  # 0.02-0.04: 1-2% of the extent
    opacities = 0.5 + 0.4 * torch.rand(n, generator=g)
    sh = torch.randn(n, 16, 3, generator=g) * 0.1
    sh[:, 0] = (torch.rand(n, 3, generator=g) - 0.5) / 0.28209479177387814
    viewmats = torch.eye(4)[None].clone()
    viewmats[0, 2, 3] = 4.0  # camera 4 units in front of the box centre, looking down +z
    f = (side / 2) / (1.0 / 3.0)  # half-width 1 at the box front (depth 3) fills the view
    Ks = torch.tensor([[[f, 0, side / 2], [0, f, side / 2], [0, 0, 1]]])
    bg = torch.rand(1, 3, generator=g)
    scene = dict(
        means=means,
        quats=quats,
        scales=scales,
        opacities=opacities,
        colors=sh,
        viewmats=viewmats,
        Ks=Ks,
        backgrounds=bg,
    )
    return {k: v.to(device) for k, v in scene.items()}


def render(fn, scene: dict, side: int, grad: bool = True):
    leaves = {k: v.clone().requires_grad_(grad and k not in ("viewmats", "Ks")) for k, v in scene.items()}
    bg = leaves.pop("backgrounds")
    rc, ra, meta = fn(
        **leaves, width=side, height=side, sh_degree=3, packed=False, render_mode="RGB+ED", absgrad=True, backgrounds=bg
    )
    return rc, ra, meta, leaves, bg


def fwd_bwd(fn, scene: dict, side: int, weights=None):
    rc, ra, meta, leaves, bg = render(fn, scene, side)
    meta["means2d"].retain_grad()
    if weights is None:
        g = torch.Generator().manual_seed(1)
        weights = (torch.randn(rc.shape, generator=g).to(rc.device), torch.randn(ra.shape, generator=g).to(ra.device))
    ((rc * weights[0]).sum() + (ra * weights[1]).sum()).backward()
    grads = {k: v.grad for k, v in leaves.items() if v.grad is not None}
    grads["backgrounds"] = bg.grad
    grads["means2d.absgrad"] = meta["means2d"].absgrad
    return rc, ra, meta, grads


@overload
def timeit(fn, scene, side, repeats: int, warmup: int = 2, cpu_time: Literal[False] = False) -> float: ...
@overload
def timeit(fn, scene, side, repeats: int, warmup: int = 2, *, cpu_time: Literal[True]) -> Tuple[float, float]: ...
def timeit(fn, scene, side, repeats: int, warmup: int = 2, cpu_time: bool = False) -> Union[float, Tuple[float, float]]:
    """Median wall seconds of forward + backward; with cpu_time, (wall, process CPU seconds) medians."""
    for _ in range(warmup):
        fwd_bwd(fn, scene, side)
    times, cpu = [], []
    for _ in range(repeats):
        if scene["means"].is_cuda:
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        fwd_bwd(fn, scene, side)
        if scene["means"].is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    if cpu_time:
        return statistics.median(times), statistics.median(cpu)
    return statistics.median(times)


def pair_counts(scene: dict, side: int) -> dict:
    """Intersections x tile pixels (the work bound), and the pairs scanned/composited (counted by the
    torch compositing, small scenes only: None above FALLBACK_MAX_GAUSSIANS)."""
    with torch.no_grad():
        rc, ra, meta, _, _ = render(tb.rasterization, scene, side, grad=False)
        stats: dict = {}
        if scene["means"].shape[0] <= FALLBACK_MAX_GAUSSIANS:
            colors = torch.zeros(*meta["opacities"].shape, 1)
            tb._composite_torch(
                meta["means2d"],
                meta["conics"],
                colors,
                meta["opacities"],
                None,
                side,
                side,
                meta["tile_size"],
                meta["isect_offsets"],
                meta["flatten_ids"],
                stats=stats,
            )
    m = meta["flatten_ids"].numel()
    return dict(
        isects=m,
        tile_pairs=m * meta["tile_size"] ** 2,
        evaluated=stats.get("evaluated"),
        composited=stats.get("composited"),
        visible=int((meta["radii"] > 0).sum()),
        mean_radius=float(meta["radii"][meta["radii"] > 0].float().mean()),
        alpha=float(ra.mean()),
    )


def compare_gsplat(scene: dict, side: int) -> str:
    """gsplat CUDA vs torch backend (on CUDA tensors via the fallback, and CPU via the kernel)."""
    from gsplat.rendering import rasterization as gs_rasterization  # noqa: PLC0415

    cuda_scene = {k: v.cuda() for k, v in scene.items()}
    a = fwd_bwd(gs_rasterization, cuda_scene, side)
    b = fwd_bwd(tb.rasterization, scene, side)
    rel = lambda x, y: float((x.cpu() - y.cpu()).norm() / y.cpu().norm().clamp_min(1e-12))  # noqa: E731
    diffs = [f"colors {rel(b[0], a[0]):.1e}", f"alphas {rel(b[1], a[1]):.1e}"]
    diffs += [f"d{k} {rel(b[3][k], a[3][k]):.1e}" for k in a[3] if a[3][k] is not None and b[3].get(k) is not None]
    t_gs = timeit(gs_rasterization, cuda_scene, side, repeats=10)
    t_tb_cuda = timeit(tb.rasterization, cuda_scene, side, repeats=5)
    return (
        f"{side}x{side}/{scene['means'].shape[0]}: gsplat CUDA {t_gs * 1e3:.2f} ms, torch backend on CUDA "
        f"{t_tb_cuda * 1e3:.1f} ms; relative differences (torch CPU vs gsplat): " + ", ".join(diffs)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the section in benchmarks/RESULTS.md")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()

    have_cpp = build_kernels.load() is not None
    rows = []
    default_threads = torch.get_num_threads()
    # torch's OpenMP ops stall when another process keeps the cores busy (every parallel op waits
    # for a descheduled worker), so the single-thread time is reported too: it is the robust one
    thread_counts = sorted({1, default_threads}, reverse=True)
    load_before = os.getloadavg()[0]
    for side, n in CONFIGS:
        scene = make_scene(side, n)
        counts = pair_counts(scene, side)
        kernels = (["cpp"] if have_cpp else []) + (["torch"] if n <= FALLBACK_MAX_GAUSSIANS else [])
        for kernel in kernels:
            os.environ[tb.KERNEL_ENV] = kernel
            reps = args.repeats if kernel == "cpp" else max(3, args.repeats // 3)
            for threads in thread_counts:
                torch.set_num_threads(threads)
                t, cpu = timeit(tb.rasterization, scene, side, repeats=reps, cpu_time=True)
                rows.append((side, n, kernel, threads, t, cpu, counts))
        torch.set_num_threads(default_threads)
        os.environ.pop(tb.KERNEL_ENV, None)
    load_after = os.getloadavg()[0]

    def millions(x) -> str:
        return "-" if x is None else f"{x / 1e6:.2f}M"

    lines = [
        "| image | Gaussians | kernels | threads | fwd+bwd wall (ms) | fwd+bwd CPU (ms) | target (ms) | "
        "visible / mean radius (px) | intersections | isect x tile px (work bound) | scanned pairs | "
        "composited pairs | work-bound pairs/s | composited/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for side, n, kernel, threads, t, cpu, c in rows:
        target = TARGETS[(side, n)] * 1e3 if kernel == "cpp" else float("nan")
        per_s = "-" if c["composited"] is None else f"{c['composited'] / t / 1e6:.1f}M"
        lines.append(
            f"| {side}x{side} | {n} | {'C++' if kernel == 'cpp' else 'torch fallback'} | {threads} | {t * 1e3:.1f} | "
            f"{cpu * 1e3:.1f} | {'-' if target != target else f'{target:.0f}'} | "
            f"{c['visible']} / {c['mean_radius']:.1f} | {c['isects']} | {millions(c['tile_pairs'])} | "
            f"{millions(c['evaluated'])} | {millions(c['composited'])} | {c['tile_pairs'] / t / 1e6:.1f}M | {per_s} |"
        )
    if torch.cuda.is_available():
        gs = [compare_gsplat(make_scene(side, n), side) for side, n in CONFIGS]
    else:
        gs = ["gsplat CUDA comparison: skipped: no CUDA"]
    table = "\n".join(lines)
    load_note = (
        f"1-min load average {load_before:.2f} before / {load_after:.2f} after the run "
        f"(above ~0.5 means other processes shared the {os.cpu_count()} cores)"
    )
    print(table)
    print(load_note)
    print("\n".join(gs))
    if not have_cpp:
        print(f"(C++ kernel unavailable: {build_kernels.load_error()})")

    if args.write:
        machine = (
            f"{platform.machine()}, nproc {os.cpu_count()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), Python {platform.python_version()}"
        )
        section = "\n".join(
            [
                START,
                "## Rasterizer speed (torch backend)",
                "",
                f"Command: `python benchmarks/bench_rasterizer.py {' '.join(sys.argv[1:])}` — "
                f"{datetime.date.today().isoformat()}, "
                f"{machine}.",
                "Scene: Gaussians filling a 2x2x2 box the view just covers, scales 1-2% of the box, opacity "
                "0.5-0.9, SH degree 3; splatfacto's call (packed=False, RGB+ED, absgrad, background). "
                f"Median forward+backward time of {args.repeats} repeats (torch fallback: {max(3, args.repeats // 3)}) "
                "after warm-up, wall-clock and this process's CPU time (all threads; the machine is shared with "
                'other engineers\' runs, see the load below). "kernels": C++ = projection, SH, binning and '
                'compositing in the C++ kernels; torch fallback = all in torch. "isect x tile px" = tile '
                'intersections x pixels per tile (the work bound); "scanned" = pairs evaluated before each '
                'pixel terminated; "composited" = pairs blended (alpha >= 1/255); both counted by the torch '
                "compositing, at the small sizes only.",
                "",
                table,
                "",
                load_note + ".",
                "",
                *gs,
                END,
            ]
        )
        text = RESULTS.read_text() if RESULTS.exists() else "# Results\n"
        if START in text and END in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
