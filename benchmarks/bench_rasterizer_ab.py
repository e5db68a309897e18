"""Forward + backward time of one tree's rasterizer: run it on two trees to compare before/after.

    git archive 7cb0620 ns_plugins benchmarks | tar -x -C /tmp/old
    NS_PLUGINS_BUILD_DIR=/tmp/old/_build python benchmarks/bench_rasterizer_ab.py --tree /tmp/old --threads 1
    python benchmarks/bench_rasterizer_ab.py --tree . --threads 1

Uses the tree's own ``bench_rasterizer`` scene and call (splatfacto's RGB+ED, SH 3, absgrad, background) and prints
the medians of the wall-clock and of this process's CPU time (all threads) over the repeats, after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tree", default=".", help="checkout whose ns_plugins and benchmarks are timed")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--gaussians", type=int, default=200000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path[:0] = [args.tree, os.path.join(args.tree, "benchmarks")]
    import bench_rasterizer as bench
    from ns_plugins.splat import torch_backend

    torch.set_num_threads(args.threads)
    scene = bench.make_scene(args.side, args.gaussians)
    bench.fwd_bwd(torch_backend.rasterization, scene, args.side)
    wall, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        bench.fwd_bwd(torch_backend.rasterization, scene, args.side)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"{torch_backend.__file__}: {args.side}x{args.side} / {args.gaussians}, {args.threads} threads: "
        f"wall {statistics.median(wall):.3f} s, CPU {statistics.median(cpu):.3f} s (medians of {args.repeats}; "
        f"1-min load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
