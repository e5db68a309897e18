"""The torch rasterization backend against a dense brute-force reference (tests/splat/reference.py),
on both compositing paths: the C++ kernel and the pure-torch fallback."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import Any, Dict

import pytest
import torch

from ns_plugins.splat import build_kernels
from ns_plugins.splat import torch_backend as tb
from ns_plugins.splat.sh import sh_colors
from ns_plugins.splat.torch_backend import rasterization

from . import reference

KERNELS = ["cpp", "torch"]
W, H = 40, 24  # not a multiple of the 16 px tile: edge tiles are partial


@pytest.fixture(params=KERNELS)
def kernel(request, monkeypatch):
    if request.param == "cpp" and build_kernels.load() is None:
        pytest.skip(f"no C++ kernel: {build_kernels.load_error()}")
    monkeypatch.setenv(tb.KERNEL_ENV, request.param)
    return request.param


def make_scene(
    seed=0, N=30, C=1, D=3, sh_degree=None, per_camera_colors=False, dtype=torch.float64, W=W, H=H, extras=True
) -> Dict[str, Any]:
    """Random Gaussians in front of C cameras looking down +z, plus (extras) a few behind the
    camera, off-screen, and straddling the image border."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.rand(*s, generator=g, dtype=dtype)  # noqa: E731
    means = torch.stack([(rnd(N) * 2 - 1) * 1.0, (rnd(N) * 2 - 1) * 0.6, rnd(N) * 1.0], dim=-1)
    if extras:
        means[0] = torch.tensor([0.0, 0.0, -3.5], dtype=dtype)  # behind the camera
        means[1] = torch.tensor([30.0, 0.0, 0.0], dtype=dtype)  # far off-screen
        means[2] = torch.tensor([1.45, 0.3, 0.2], dtype=dtype)  # straddles the right border
    quats = torch.randn(N, 4, generator=g, dtype=dtype)
    scales = 0.03 + 0.08 * rnd(N, 3)
    opacities = 0.3 + 0.6 * rnd(N)
    if sh_degree is None:
        colors = rnd(C, N, D) if per_camera_colors else rnd(N, D)
    else:
        K = (sh_degree + 1) ** 2
        colors = (rnd(N, K, 3) - 0.5) * 0.8
    viewmats = torch.eye(4, dtype=dtype).repeat(C, 1, 1)
    for c in range(C):  # small rotations about y, camera 3 units back
        a = 0.15 * c
        viewmats[c, :3, :3] = torch.tensor(
            [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]], dtype=dtype
        )
        viewmats[c, :3, 3] = torch.tensor([0.05 * c, 0.0, 3.0], dtype=dtype)
    f = 0.8 * W
    Ks = torch.tensor([[f, 0, W / 2 + 0.3], [0, f * 1.02, H / 2 - 0.2], [0, 0, 1]], dtype=dtype).repeat(C, 1, 1)
    return dict(means=means, quats=quats, scales=scales, opacities=opacities, colors=colors, viewmats=viewmats, Ks=Ks)


GRAD_KEYS = ["means", "quats", "scales", "opacities", "colors", "viewmats"]


def _run_both(scene, kw, seed=1, absgrad=False):
    """Render with the backend and the reference; return outputs and grads of a random loss."""
    results = []
    for which in ("backend", "reference"):
        leaves = {k: v.clone().requires_grad_(k in GRAD_KEYS) for k, v in scene.items()}
        bg = kw.get("backgrounds")
        if bg is not None:
            bg = bg.clone().requires_grad_(True)
        kw2: Dict[str, Any] = dict(kw, backgrounds=bg)
        if which == "backend":
            rc, ra, meta = rasterization(**leaves, width=W, height=H, packed=False, absgrad=absgrad, **kw2)
            meta["means2d"].retain_grad()
        else:
            ref = reference.render(
                leaves["means"],
                leaves["quats"],
                leaves["scales"],
                leaves["opacities"],
                leaves["colors"],
                leaves["viewmats"],
                leaves["Ks"],
                W,
                H,
                **kw2,
            )
            rc, ra, meta = ref["colors"], ref["alphas"], ref
        g = torch.Generator().manual_seed(seed)
        wc = torch.randn(rc.shape, generator=g, dtype=rc.dtype)
        wa = torch.randn(ra.shape, generator=g, dtype=ra.dtype)
        ((rc * wc).sum() + (ra * wa).sum()).backward()
        grads = {k: leaves[k].grad for k in GRAD_KEYS}
        if bg is not None:
            grads["backgrounds"] = bg.grad
        results.append((rc.detach(), ra.detach(), meta, grads))
    return results


def _assert_close(a, b, name, tol=1e-5):
    if a is None or b is None:  # no gradient on either side (e.g. colors in depth-only modes)
        a, b = (torch.zeros(()) if t is None else t for t in (a, b))
        assert a.abs().max() == 0 and b.abs().max() == 0, name
        return
    assert a.shape == b.shape, (name, a.shape, b.shape)
    err = (a - b).abs().max().item() if a.numel() else 0.0
    scale = max(1.0, b.abs().max().item() if b.numel() else 0.0)
    assert err <= tol * scale, f"{name}: max abs diff {err:.3g} (scale {scale:.3g})"


CASES = {
    "rgb": dict(),
    "multicam_bg_ed_aa": dict(C=3, kw=dict(render_mode="RGB+ED", rasterize_mode="antialiased"), bg=True),
    "depth_D": dict(kw=dict(render_mode="D"), bg=True),
    "depth_ED": dict(kw=dict(render_mode="ED")),
    "rgb_d": dict(kw=dict(render_mode="RGB+D"), bg=True),
    "channels19_percam": dict(C=2, D=19, per_camera_colors=True, bg=True),
    "sh0": dict(sh=0),
    "sh1": dict(sh=1),
    "sh2": dict(sh=2, C=2),
    "sh3": dict(sh=3, bg=True),
    "sh3_rgb_ed": dict(sh=3, kw=dict(render_mode="RGB+ED"), bg=True),  # SH colours get a strided gradient
    "small_tiles": dict(kw=dict(tile_size=8, near_plane=2.0, radius_clip=2.0)),
    "dense_early_stop": dict(N=150, scale=2.0, bg=True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(kernel, case):
    spec = CASES[case]
    C = spec.get("C", 1)
    D = spec.get("D", 3)
    scene = make_scene(
        seed=list(CASES).index(case),
        C=C,
        D=D,
        sh_degree=spec.get("sh"),
        per_camera_colors=spec.get("per_camera_colors", False),
        N=spec.get("N", 30),
    )
    scene["scales"] = scene["scales"] * spec.get("scale", 1.0)
    kw = dict(spec.get("kw", {}), sh_degree=spec.get("sh"))
    if spec.get("bg"):
        kw["backgrounds"] = torch.rand(C, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    (rc, ra, meta, grads), (rc_ref, ra_ref, ref, grads_ref) = _run_both(scene, kw)
    assert ra.max() > 0.3, "scene should be visible"
    if case == "dense_early_stop":  # the T <= 1e-4 stop rule is exercised
        assert (ra > 1 - 2e-4).any()
    _assert_close(rc, rc_ref, "render_colors")
    _assert_close(ra, ra_ref, "render_alphas")
    assert torch.equal(meta["radii"], ref["radii"])
    for k, g in grads.items():
        _assert_close(g, grads_ref[k], f"grad {k}")
    # meta means2d of visible Gaussians and its .grad
    vis = meta["radii"] > 0
    ref_m2 = torch.stack([ref["means2d"][c][n] for c, n in vis.nonzero().tolist()]).detach()
    _assert_close(meta["means2d"][vis].detach(), ref_m2, "means2d")
    assert meta["means2d"].grad is not None and meta["means2d"].grad.shape == (C, scene["means"].shape[0], 2)


def test_absgrad_matches_reference(kernel):
    scene = make_scene(seed=5, C=2)
    (_, _, meta, _), (_, _, ref, _) = _run_both(scene, dict(), absgrad=True)
    expected = reference.absgrad(ref, 2, scene["means"].shape[0])
    _assert_close(meta["means2d"].absgrad, expected, "absgrad")
    assert (meta["means2d"].absgrad >= meta["means2d"].grad.abs() - 1e-12).all()


def test_gradcheck_tiny(kernel):
    """Finite differences on an 8x8 image with 4 Gaussians (away from the thresholds)."""
    g = torch.Generator().manual_seed(7)
    dt = torch.float64
    means = torch.tensor([[0.0, 0.0, 0.0], [0.15, -0.1, 0.3], [-0.2, 0.1, -0.2], [0.05, 0.2, 0.5]], dtype=dt)
    quats = torch.randn(4, 4, generator=g, dtype=dt)
    scales = torch.tensor([[0.3, 0.2, 0.25], [0.2, 0.3, 0.2], [0.25, 0.25, 0.3], [0.3, 0.35, 0.2]], dtype=dt)
    opac = torch.tensor([0.6, 0.5, 0.7, 0.4], dtype=dt)
    colors = torch.rand(4, 3, generator=g, dtype=dt)
    viewmats = torch.eye(4, dtype=dt)[None].clone()
    viewmats[0, 2, 3] = 3.0
    Ks = torch.tensor([[[8.0, 0, 4], [0, 8.0, 4], [0, 0, 1]]], dtype=dt)
    bg = torch.rand(1, 3, generator=g, dtype=dt)

    def f(means, quats, scales, opac, colors, bg):
        rc, ra, _ = rasterization(
            means,
            quats,
            scales,
            opac,
            colors,
            viewmats,
            Ks,
            8,
            8,
            backgrounds=bg,
            packed=False,
            render_mode="RGB+ED",
            tile_size=4,
        )
        return rc, ra

    inputs = [t.clone().requires_grad_(True) for t in (means, quats, scales, opac, colors, bg)]
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_float32_close_to_float64(kernel):
    scene = make_scene(seed=11, C=2)
    out64 = rasterization(**scene, width=W, height=H, packed=False)
    out32 = rasterization(**{k: v.float() for k, v in scene.items()}, width=W, height=H, packed=False)
    assert out32[0].dtype == torch.float32
    _assert_close(out32[0].double(), out64[0], "rgb f32", tol=1e-4)
    _assert_close(out32[1].double(), out64[1], "alpha f32", tol=1e-4)


@pytest.mark.parametrize("empty", ["no_gaussians", "all_culled"])
def test_empty_scene(kernel, empty):
    scene = make_scene(seed=2, C=2)
    if empty == "no_gaussians":
        scene = {k: (v[:0] if k not in ("viewmats", "Ks") else v) for k, v in scene.items()}
    else:
        scene["means"] = scene["means"] - torch.tensor([0.0, 0.0, 10.0], dtype=torch.float64)  # behind
    leaves = {k: v.clone().requires_grad_(k in GRAD_KEYS) for k, v in scene.items()}
    bg = torch.rand(2, 3, dtype=torch.float64, requires_grad=True)
    rc, ra, meta = rasterization(**leaves, width=W, height=H, backgrounds=bg, packed=False, absgrad=True)
    meta["means2d"].retain_grad()
    assert rc.shape == (2, H, W, 3) and ra.shape == (2, H, W, 1)
    assert torch.equal(ra, torch.zeros_like(ra))
    assert torch.allclose(rc, bg[:, None, None, :].expand_as(rc))
    rc.sum().backward()
    assert bg.grad is not None
    assert torch.allclose(bg.grad, torch.full_like(bg, H * W))
    assert (meta["radii"] == 0).all() and meta["flatten_ids"].numel() == 0
    for k in ["means", "quats", "scales", "opacities", "colors"]:
        assert leaves[k].grad is not None and (leaves[k].grad == 0).all(), k
    assert meta["means2d"].absgrad.shape == meta["means2d"].shape


def test_meta_layout_and_packed(kernel):
    scene = make_scene(seed=4, C=2)
    rc, ra, meta = rasterization(**scene, width=W, height=H, packed=False)
    N = scene["means"].shape[0]
    for k in [
        "width",
        "height",
        "n_cameras",
        "tile_size",
        "radii",
        "means2d",
        "depths",
        "conics",
        "opacities",
        "gaussian_ids",
        "camera_ids",
        "isect_offsets",
        "flatten_ids",
        "isect_ids",
        "tiles_per_gauss",
    ]:
        assert k in meta, k
    assert meta["gaussian_ids"] is None and meta["camera_ids"] is None and meta["n_cameras"] == 2
    assert meta["radii"].dtype == torch.int32 and meta["radii"].shape == (2, N)
    assert meta["means2d"].shape == (2, N, 2) and meta["conics"].shape == (2, N, 3)
    assert meta["depths"].shape == (2, N) and meta["opacities"].shape == (2, N)
    assert meta["radii"][:, 0].eq(0).all() and meta["radii"][:, 1].eq(0).all()  # behind / off-screen
    # isect ids are sorted and the offsets index into them per (camera, tile)
    assert torch.all(meta["isect_ids"][1:] >= meta["isect_ids"][:-1])
    assert meta["isect_offsets"].shape == (2, math.ceil(H / 16), math.ceil(W / 16))

    leaves = {k: v.clone().requires_grad_(True) for k, v in scene.items()}
    rc_p, ra_p, meta_p = rasterization(**leaves, width=W, height=H, packed=True, absgrad=True)
    meta_p["means2d"].retain_grad()
    torch.testing.assert_close(rc_p, rc, rtol=0, atol=1e-12)
    vis = meta["radii"] > 0
    nnz = int(vis.sum())
    assert meta_p["gaussian_ids"].shape == (nnz,) and meta_p["radii"].shape == (nnz,)
    assert torch.equal(meta_p["radii"], meta["radii"][vis])
    rc_p.sum().backward()
    assert meta_p["means2d"].grad.shape == (nnz, 2) and meta_p["means2d"].absgrad.shape == (nnz, 2)


def test_thread_count_does_not_change_results():
    if build_kernels.load() is None:
        pytest.skip("no C++ kernel")
    scene = make_scene(seed=9, C=3, N=60)
    outs = []
    old = torch.get_num_threads()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            leaves = {k: v.clone().requires_grad_(k in GRAD_KEYS) for k, v in scene.items()}
            rc, ra, _ = rasterization(**leaves, width=W, height=H, packed=False)
            (rc.sum() + ra.square().sum()).backward()
            outs.append([rc, ra] + [leaves[k].grad for k in GRAD_KEYS])
    finally:
        torch.set_num_threads(old)
    for o in outs[1:]:
        for a, b in zip(outs[0], o):
            assert torch.equal(a, b)


def test_kernels_agree_float32(monkeypatch):
    """C++ kernel and torch fallback on a bigger float32 scene (many overlaps, early termination)."""
    if build_kernels.load() is None:
        pytest.skip("no C++ kernel")
    scene = make_scene(seed=21, N=400, C=1, dtype=torch.float32, W=64, H=48, extras=False)
    scene["scales"] = scene["scales"] * 2
    res = []
    for k in KERNELS:
        monkeypatch.setenv(tb.KERNEL_ENV, k)
        leaves = {n: v.clone().requires_grad_(n in GRAD_KEYS) for n, v in scene.items()}
        rc, ra, meta = rasterization(**leaves, width=64, height=48, packed=False, absgrad=True)
        meta["means2d"].retain_grad()
        (rc.sum() + ra.sum()).backward()
        res.append((rc, ra, leaves["means"].grad, leaves["colors"].grad, meta["means2d"].absgrad))
    assert (res[0][1] > 0.9998).float().mean() > 0.1, "some pixels should terminate early"
    for a, b in zip(*res):
        _assert_close(a, b, "cpp vs torch", tol=2e-4 * max(1.0, b.abs().max().item()))


def test_env_forces_torch_fallback(monkeypatch):
    monkeypatch.setenv(tb.KERNEL_ENV, "torch")
    assert tb._kernel_choice(torch.device("cpu"), torch.float32) == "torch"
    monkeypatch.setenv(tb.KERNEL_ENV, "auto")
    expected = "cpp" if build_kernels.load() is not None else "torch"
    assert tb._kernel_choice(torch.device("cpu"), torch.float32) == expected
    assert tb._kernel_choice(torch.device("cpu"), torch.float16) == "torch"


def test_unsupported_options():
    scene = make_scene(seed=0)
    with pytest.raises(NotImplementedError):
        rasterization(**scene, width=W, height=H, camera_model="ortho")
    with pytest.raises(NotImplementedError):
        rasterization(**scene, width=W, height=H, distributed=True)


def test_covars_argument_matches_quats_scales():
    scene = make_scene(seed=13)
    covars = tb._quat_scale_to_covar(scene["quats"], scene["scales"])
    a = rasterization(**scene, width=W, height=H, packed=False)
    b = rasterization(**dict(scene, quats=None, scales=None), covars=covars, width=W, height=H, packed=False)
    torch.testing.assert_close(a[0], b[0])


def test_build_into_fresh_dir(tmp_path):
    if build_kernels.find_compiler() is None:
        pytest.skip("no compiler")
    env = dict(os.environ, NS_PLUGINS_BUILD_DIR=str(tmp_path), NS_PLUGINS_KERNEL_OPT="-O0")
    # load build_kernels.py by path (stdlib only): importing the package would pull in nerfstudio
    code = (
        "import importlib.util, sys; s = importlib.util.spec_from_file_location('bk', sys.argv[1]); "
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); sys.exit(m.main(['--strict']))"
    )
    cmd = [sys.executable, "-c", code, build_kernels.__file__]
    # two concurrent builders must both succeed and leave one library and no temporary files
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        assert str(tmp_path) in out.decode()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0].endswith(".so") and ".tmp" not in files[0], files


def test_projection_sh_and_tiles_match_gsplat_torch_impl():
    """Cross-check with gsplat's own pure-torch helpers (CPU-safe: no CUDA extension import)."""
    ti = pytest.importorskip("gsplat.cuda._torch_impl")
    scene = make_scene(seed=17, C=2, sh_degree=3)
    covars = tb._quat_scale_to_covar(scene["quats"], scene["scales"])
    radii, means2d, depths, conics, comp = tb._project(
        scene["means"], covars, scene["viewmats"], scene["Ks"], W, H, 0.3, 0.01, 1e10, 0.0
    )
    r2, m2, d2, c2, comp2 = ti._fully_fused_projection(
        scene["means"], covars, scene["viewmats"], scene["Ks"], W, H, calc_compensations=True
    )
    assert torch.equal(radii, r2)
    vis = radii > 0
    for a, b in [(means2d, m2), (depths, d2), (conics, c2), (comp, comp2)]:
        torch.testing.assert_close(a[vis], b[vis], rtol=1e-10, atol=1e-10)
    tw, th = math.ceil(W / 16), math.ceil(H / 16)
    tpg, isect_ids, flatten_ids, _ = tb._isect_tiles(means2d, radii, depths, 16, tw, th)
    tpg2, isect_ids2, flatten_ids2 = ti._isect_tiles(means2d, radii, depths, 16, tw, th)
    assert torch.equal(tpg, tpg2) and torch.equal(isect_ids, isect_ids2) and torch.equal(flatten_ids, flatten_ids2)
    dirs = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coeffs = torch.randn(50, 16, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for deg in range(4):
        torch.testing.assert_close(sh_colors(deg, dirs, coeffs), ti._spherical_harmonics(deg, dirs, coeffs))
