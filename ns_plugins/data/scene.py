"""A procedural scene with ground truth and a numpy ray-caster for it.

The world is z-up: a textured square ground plane at z = 0 and textured primitives (spheres,
boxes, cylinders) standing on it, lit by a directional light (Lambertian, hard shadows) plus
ambient light, under a gradient sky. Every surface carries an instance id: background 0,
ground 1, objects 2, 3, ...

Textures are solid (3D) functions of the object's local coordinates, so a surface point has the
same colour in every view, and they carry detail at a few pixels' period so that blur is visible
and its removal measurable.

Cameras follow nerfstudio/OpenGL: the camera looks down its -z axis, y is up, x right; pixel
(u, v) has its centre at (u + 0.5, v + 0.5).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import asdict, dataclass
from typing import Iterable, Literal, cast

import numpy as np

PrimitiveKind = Literal["sphere", "box", "cylinder"]
TextureKind = Literal["checker", "stripes", "noise"]

BACKGROUND_ID = 0
GROUND_ID = 1
FIRST_OBJECT_ID = 2

DISPLAY_GAMMA = 2.2
_EPS = 1e-6


@dataclass(frozen=True)
class Texture:
    """A solid texture: two linear-RGB albedos mixed by a pattern of `frequency` cycles per unit."""

    kind: TextureKind
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    frequency: float
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)  # stripe direction (unit); unused otherwise


@dataclass(frozen=True)
class Primitive:
    """An object standing on the ground.

    size: sphere (r, r, r); box half-extents (hx, hy, hz); cylinder (r, r, half_height), axis +z.
    yaw: rotation about +z (radians) from local to world.
    """

    name: str
    kind: PrimitiveKind
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float
    texture: Texture
    instance_id: int


@dataclass(frozen=True)
class Ground:
    """Square ground plane z = 0, |x|, |y| <= half_size."""

    half_size: float
    texture: Texture
    instance_id: int = GROUND_ID


@dataclass(frozen=True)
class Lighting:
    """Directional light (unit vector towards the light) plus ambient, in linear RGB."""

    direction: tuple[float, float, float]
    intensity: float
    ambient: float
    shadows: bool = True


@dataclass(frozen=True)
class Sky:
    """Background: linear-RGB colour blended from horizon to zenith by the ray's elevation."""

    horizon: tuple[float, float, float]
    zenith: tuple[float, float, float]


@dataclass(frozen=True)
class Scene:
    """Everything needed to render the scene; `center` and `radius` bound the objects."""

    seed: int
    objects: tuple[Primitive, ...]
    ground: Ground
    lighting: Lighting
    sky: Sky
    center: tuple[float, float, float]
    radius: float
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def to_dict(self) -> dict:
        """JSON-serialisable description (for gt/scene.json)."""
        return asdict(self)


# ----------------------------------------------------------------------------- scene layout


def _distinct_colors(n: int, rng: np.random.Generator) -> list[tuple[tuple, tuple]]:
    """n pairs (bright, dark) of linear albedos with well-separated hues."""
    offset = rng.uniform(0.0, 1.0)
    pairs = []
    for i in range(n):
        hue = (offset + i / max(n, 1)) % 1.0
        bright = colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 0.85), rng.uniform(0.8, 0.95))
        dark = colorsys.hsv_to_rgb((hue + rng.uniform(-0.05, 0.05)) % 1.0, rng.uniform(0.6, 0.9), 0.2)
        # HSV values are display-ish; albedos are linear
        pairs.append((tuple(float(c) ** DISPLAY_GAMMA for c in bright), tuple(float(c) ** DISPLAY_GAMMA for c in dark)))
    return pairs


def _float3(values: Iterable) -> tuple[float, float, float]:
    """Three values as Python floats."""
    x, y, z = values
    return float(x), float(y), float(z)


def _random_unit(rng: np.random.Generator) -> tuple[float, float, float]:
    v = rng.normal(size=3)
    v /= np.linalg.norm(v)
    return _float3(v)


def _footprint_radius(kind: PrimitiveKind, size: tuple[float, float, float]) -> float:
    """Radius of a vertical cylinder around the object's axis that contains it (for placement)."""
    if kind == "box":
        return math.hypot(size[0], size[1])
    return size[0]


def make_scene(seed: int, num_objects: int = 4, texture_frequency_scale: float = 1.0) -> Scene:
    """A random scene for `seed`: `num_objects` non-intersecting textured primitives on a ground.

    Objects sit inside a square of half-width ~0.75 (growing with sqrt(num_objects / 4)) around
    the origin, with heights up to ~0.7; the ground extends to ~2x that.
    texture_frequency_scale multiplies the objects' texture frequencies (default: a period of a
    few pixels at 64 px; lower it for coarser detail).
    """
    if num_objects < 0:
        raise ValueError(f"num_objects must be >= 0, got {num_objects}")
    rng = np.random.default_rng(seed)
    extent = 0.75 * math.sqrt(max(1.0, num_objects / 4.0))
    kinds: list[PrimitiveKind] = ["sphere", "box", "cylinder"]
    textures: list[TextureKind] = ["checker", "stripes", "noise"]
    colors = _distinct_colors(num_objects + 1, rng)
    tex_offset = int(rng.integers(0, 3))
    kind_offset = int(rng.integers(0, 3))

    objects: list[Primitive] = []
    placed: list[tuple[float, float, float]] = []  # (x, y, footprint radius)
    for i in range(num_objects):
        kind = kinds[(i + kind_offset) % 3]
        if kind == "sphere":
            r = rng.uniform(0.16, 0.28)
            size = (r, r, r)
        elif kind == "box":
            size = tuple(float(v) for v in rng.uniform([0.1, 0.1, 0.1], [0.22, 0.22, 0.3]))
        else:
            r = rng.uniform(0.1, 0.2)
            size = (r, r, rng.uniform(0.15, 0.35))
        size = _float3(size)
        foot = _footprint_radius(kind, size)
        # rejection sampling; shrink the object every 100 failures so a crowded region still fits it
        attempt = 0
        while True:
            x, y = rng.uniform(-extent + foot, extent - foot, size=2) if extent > foot else (0.0, 0.0)
            if all(math.hypot(x - px, y - py) > foot + pr + 0.05 for px, py, pr in placed):
                break
            attempt += 1
            if attempt % 100 == 0:
                size = (0.8 * size[0], 0.8 * size[1], 0.8 * size[2])
                foot = _footprint_radius(kind, size)
        placed.append((float(x), float(y), foot))
        texture_kind = textures[(i + tex_offset) % 3]
        # cycles per unit: a checker cell ~5 px, a stripe ~2 px, a noise cell ~2 px at 64 px
        frequency = {"checker": 6.0, "stripes": 7.0, "noise": 14.0}[texture_kind] * rng.uniform(0.9, 1.2)
        frequency *= texture_frequency_scale
        texture = Texture(texture_kind, colors[i][0], colors[i][1], float(frequency), _random_unit(rng))
        objects.append(
            Primitive(
                name=f"{kind}_{i}",
                kind=kind,
                center=(float(x), float(y), float(size[2])),
                size=size,
                yaw=float(rng.uniform(0, math.pi)),
                texture=texture,
                instance_id=FIRST_OBJECT_ID + i,
            )
        )

    ground_colors = ((0.55, 0.5, 0.42), (0.18, 0.16, 0.14))
    ground = Ground(
        half_size=float(2.1 * extent),
        texture=Texture("checker", ground_colors[0], ground_colors[1], float(rng.uniform(3.0, 4.0))),
    )
    azimuth = rng.uniform(0, 2 * math.pi)
    elevation = rng.uniform(math.radians(45), math.radians(65))
    direction = (
        math.cos(elevation) * math.cos(azimuth),
        math.cos(elevation) * math.sin(azimuth),
        math.sin(elevation),
    )
    lighting = Lighting(direction=direction, intensity=0.9, ambient=0.3)
    sky = Sky(horizon=(0.75, 0.82, 0.9), zenith=(0.3, 0.45, 0.75))
    top = max([o.center[2] + o.size[2] for o in objects], default=0.3)
    return Scene(
        seed=seed,
        objects=tuple(objects),
        ground=ground,
        lighting=lighting,
        sky=sky,
        center=(0.0, 0.0, float(top / 2)),
        radius=float(math.hypot(extent, top / 2)),
    )


# ----------------------------------------------------------------------------- intersection


def _rotate_z(v: np.ndarray, angle: float) -> np.ndarray:
    """Rotate vectors [N, 3] by `angle` about +z (element-wise: much faster than a thin matmul)."""
    c, s = math.cos(angle), math.sin(angle)
    x, y = v[:, 0], v[:, 1]
    return np.stack([c * x - s * y, s * x + c * y, v[:, 2]], axis=1)


def _to_local(obj: Primitive, points: np.ndarray) -> np.ndarray:
    """World points/directions [N, 3] (already centred if points) -> object-local frame [N, 3]."""
    return _rotate_z(points, -obj.yaw)


def _intersect_sphere(o: np.ndarray, d: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Local-frame rays o, d [N, 3] -> (t [N] (inf on miss), local normal [N, 3])."""
    a = np.einsum("ij,ij->i", d, d)
    b = 2.0 * np.einsum("ij,ij->i", o, d)
    c = np.einsum("ij,ij->i", o, o) - r * r
    disc = b * b - 4 * a * c
    hit = disc >= 0
    sq = np.sqrt(np.where(hit, disc, 0.0))
    t = (-b - sq) / (2 * a)
    t = np.where(hit & (t > _EPS), t, np.inf)
    p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    return t, p / r


def _intersect_box(o: np.ndarray, d: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slab test for an axis-aligned box centred at the local origin. Returns (t [N], normal [N, 3])."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / np.where(np.abs(d) < 1e-12, 1e-12, d)
        t1 = (-half - o) * inv
        t2 = (half - o) * inv
    t_near = np.minimum(t1, t2)
    t_far = np.maximum(t1, t2)
    t_enter = t_near.max(axis=1)
    t_exit = t_far.min(axis=1)
    hit = (t_exit >= t_enter) & (t_enter > _EPS)
    t = np.where(hit, t_enter, np.inf)
    axis = t_near.argmax(axis=1)
    normal = np.zeros_like(o)
    normal[np.arange(len(o)), axis] = -np.sign(d[np.arange(len(o)), axis])
    return t, normal


def _intersect_cylinder(o: np.ndarray, d: np.ndarray, r: float, hh: float) -> tuple[np.ndarray, np.ndarray]:
    """Capped cylinder on the local z axis, |z| <= hh. Returns (t [N], normal [N, 3])."""
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = 2 * (o[:, 0] * d[:, 0] + o[:, 1] * d[:, 1])
    c = o[:, 0] ** 2 + o[:, 1] ** 2 - r * r
    disc = b * b - 4 * a * c
    ok = (disc >= 0) & (a > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_side = (-b - np.sqrt(np.where(ok, disc, 0.0))) / (2 * np.where(a > 1e-12, a, 1.0))
    z_side = o[:, 2] + t_side * d[:, 2]
    t_side = np.where(ok & (t_side > _EPS) & (np.abs(z_side) <= hh), t_side, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        dz = np.where(np.abs(d[:, 2]) < 1e-12, 1e-12, d[:, 2])
        t_cap = np.minimum(
            np.where((hh - o[:, 2]) / dz > _EPS, (hh - o[:, 2]) / dz, np.inf),
            np.where((-hh - o[:, 2]) / dz > _EPS, (-hh - o[:, 2]) / dz, np.inf),
        )
    p_cap = o + np.where(np.isfinite(t_cap), t_cap, 0.0)[:, None] * d
    t_cap = np.where(p_cap[:, 0] ** 2 + p_cap[:, 1] ** 2 <= r * r, t_cap, np.inf)
    use_cap = t_cap < t_side
    t = np.minimum(t_side, t_cap)
    p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    normal = np.stack([p[:, 0] / r, p[:, 1] / r, np.zeros_like(t)], axis=1)
    normal[use_cap] = np.stack([np.zeros(use_cap.sum()), np.zeros(use_cap.sum()), np.sign(p[use_cap, 2])], axis=1)
    return t, normal


def intersect_primitive(obj: Primitive, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays [N, 3] (dirs need not be unit) -> (t [N], inf on miss; world normal [N, 3]).

    t is in units of |dir|: with camera-space dirs of z = -1 it is the z-depth.
    """
    o = _to_local(obj, origins - np.asarray(obj.center))
    d = _to_local(obj, dirs)
    if obj.kind == "sphere":
        t, n = _intersect_sphere(o, d, obj.size[0])
    elif obj.kind == "box":
        t, n = _intersect_box(o, d, np.asarray(obj.size))
    elif obj.kind == "cylinder":
        t, n = _intersect_cylinder(o, d, obj.size[0], obj.size[2])
    else:
        raise ValueError(f"unknown primitive kind {obj.kind!r}")
    return t, _rotate_z(n, obj.yaw)


def intersect_ground(ground: Ground, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays [N, 3] -> (t [N], normal [N, 3]); the ground is seen from above only."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -origins[:, 2] / np.where(dirs[:, 2] < -1e-12, dirs[:, 2], -1e-12)
    p = origins + np.where(t > _EPS, t, 0.0)[:, None] * dirs
    inside = (np.abs(p[:, 0]) <= ground.half_size) & (np.abs(p[:, 1]) <= ground.half_size)
    t = np.where((dirs[:, 2] < -1e-12) & (t > _EPS) & inside & (origins[:, 2] > 0), t, np.inf)
    normal = np.zeros_like(origins)
    normal[:, 2] = 1.0
    return t, normal


def cast_rays(scene: Scene, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest hit of rays [N, 3] -> (t [N] inf on miss, instance [N] int32, world normal [N, 3])."""
    t_best, normal = intersect_ground(scene.ground, origins, dirs)
    instance = np.where(np.isfinite(t_best), scene.ground.instance_id, BACKGROUND_ID).astype(np.int32)
    for obj in scene.objects:
        t, n = intersect_primitive(obj, origins, dirs)
        closer = t < t_best
        t_best = np.where(closer, t, t_best)
        instance[closer] = obj.instance_id
        normal[closer] = n[closer]
    return t_best, instance, normal


def _occluded(scene: Scene, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """[N] bool: a ray from each origin [N, 3] towards `direction` [3] hits an object."""
    dirs = np.broadcast_to(direction, origins.shape)
    blocked = np.zeros(len(origins), dtype=bool)
    for obj in scene.objects:
        t, _ = intersect_primitive(obj, origins, dirs)
        blocked |= np.isfinite(t)
    return blocked


# ----------------------------------------------------------------------------- shading


def _hash3(cells: np.ndarray, seed: float) -> np.ndarray:
    """Integer lattice cells [N, 3] -> pseudo-random values [N] in [0, 1)."""
    h = np.sin(cells @ np.array([127.1, 311.7, 74.7]) + seed * 17.31) * 43758.5453
    return h - np.floor(h)


def _value_noise(p: np.ndarray, seed: float) -> np.ndarray:
    """Smooth trilinear value noise at points p [N, 3] (lattice spacing 1) -> [N] in [0, 1]."""
    cell = np.floor(p)
    f = p - cell
    w = f * f * (3 - 2 * f)
    out = np.zeros(len(p))
    for corner in np.ndindex(2, 2, 2):
        c = np.asarray(corner, dtype=np.float64)
        weight = np.prod(np.where(c == 1, w, 1 - w), axis=1)
        out += weight * _hash3(cell + c, seed)
    return out


def texture_mix(texture: Texture, local_points: np.ndarray, seed: float = 0.0) -> np.ndarray:
    """Pattern value in [0, 1] at local points [N, 3] -> [N] (0 -> color_a, 1 -> color_b)."""
    p = local_points * texture.frequency
    if texture.kind == "checker":
        return (np.floor(p).astype(np.int64).sum(axis=1) % 2).astype(np.float64)
    if texture.kind == "stripes":
        phase = p @ np.asarray(texture.axis)
        return (np.sin(2 * math.pi * phase) > 0).astype(np.float64)
    if texture.kind == "noise":
        # two octaves, contrast-stretched so the detail is strong
        n = 0.65 * _value_noise(p, seed) + 0.35 * _value_noise(2.7 * p + 13.0, seed + 1)
        return np.clip((n - 0.5) * 2.5 + 0.5, 0.0, 1.0)
    raise ValueError(f"unknown texture kind {texture.kind!r}")


def surface_albedo(scene: Scene, points: np.ndarray, instance: np.ndarray) -> np.ndarray:
    """Linear albedo [N, 3] of hit points [N, 3] with instance ids [N] (background -> 0)."""
    albedo = np.zeros((len(points), 3))
    # (instance id, texture, local frame or None for world, noise seed)
    surfaces = [(scene.ground.instance_id, scene.ground.texture, None, 0.0)]
    surfaces += [(obj.instance_id, obj.texture, obj, float(obj.instance_id)) for obj in scene.objects]
    for inst_id, texture, obj, seed in surfaces:
        mask = instance == inst_id
        if not mask.any():
            continue
        p = points[mask] if obj is None else _to_local(obj, points[mask] - np.asarray(obj.center))
        m = texture_mix(texture, p, seed)[:, None]
        albedo[mask] = (1 - m) * np.asarray(texture.color_a) + m * np.asarray(texture.color_b)
    return albedo


def shade_points(scene: Scene, points: np.ndarray, normals: np.ndarray, instance: np.ndarray) -> np.ndarray:
    """Linear radiance [N, 3] of surface points [N, 3] with normals [N, 3] and ids [N] (all hits)."""
    light = np.asarray(scene.lighting.direction)
    lambert = np.clip(normals @ light, 0.0, None)
    if scene.lighting.shadows and len(points):
        lit = lambert > 0
        blocked = np.zeros(len(points), dtype=bool)
        # offset along the normal so a surface does not shadow itself
        blocked[lit] = _occluded(scene, points[lit] + 1e-4 * normals[lit], light)
        lambert = np.where(blocked, 0.0, lambert)
    albedo = surface_albedo(scene, points, instance)
    return albedo * (scene.lighting.ambient + scene.lighting.intensity * lambert)[:, None]


def sample_sky_points(
    scene: Scene, n: int, rng: np.random.Generator, radius_factor: float = 6.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed points on a far dome carrying the sky colour -> (xyz [n, 3], rgb [n, 3] uint8, instance [n]).

    The sky is a colour per direction, not a surface; splatting has to model it with far
    Gaussians, as it does for the sky of a real capture (where SfM also yields a few far points).
    Directions cover everything a camera above the ground can see past the objects.
    """
    center = np.asarray(scene.center)
    radius = radius_factor * max(scene.radius, 0.5)
    az = rng.uniform(0, 2 * math.pi, n)
    sin_el = rng.uniform(math.sin(math.radians(-20)), 1.0, n)  # uniform on the sphere cap
    cos_el = np.sqrt(1 - sin_el**2)
    dirs = np.stack([cos_el * np.cos(az), cos_el * np.sin(az), sin_el], axis=1)
    xyz = center + radius * dirs
    rgb = np.round(linear_to_display(sky_color(scene, dirs)) * 255).astype(np.uint8)
    return xyz.astype(np.float32), rgb, np.full(n, BACKGROUND_ID, dtype=np.int32)


def sky_color(scene: Scene, dirs: np.ndarray) -> np.ndarray:
    """Linear sky colour [N, 3] for ray directions [N, 3]."""
    unit = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    s = np.clip(unit @ np.asarray(scene.up), 0.0, 1.0)[:, None] ** 0.7
    return (1 - s) * np.asarray(scene.sky.horizon) + s * np.asarray(scene.sky.zenith)


def linear_to_display(rgb: np.ndarray) -> np.ndarray:
    """Linear radiance -> display values in [0, 1] (gamma 1/2.2, as DeblurGS's tone map)."""
    return np.clip(rgb, 0.0, 1.0) ** (1.0 / DISPLAY_GAMMA)


def display_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Inverse of `linear_to_display` on [0, 1]."""
    return np.clip(rgb, 0.0, 1.0) ** DISPLAY_GAMMA


# ----------------------------------------------------------------------------- rendering


def camera_rays(
    c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float, width: int, height: int, supersample: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Rays for every (sub)pixel -> (origins [H*s, W*s, 3], dirs [H*s, W*s, 3]).

    Sub-pixel k of pixel u sits at u + (k + 0.5) / s; dirs have camera-space z = -1 (not unit),
    so ray parameter t equals z-depth.
    """
    s = supersample
    u = (np.arange(width * s) + 0.5) / s
    v = (np.arange(height * s) + 0.5) / s
    uu, vv = np.meshgrid(u, v)
    d_cam = np.stack([(uu - cx) / fx, -(vv - cy) / fy, -np.ones_like(uu)], axis=-1)
    c2w = np.asarray(c2w, dtype=np.float64)
    # element-wise sum instead of a thin [.., 3] @ [3, 3] matmul, which numpy runs slowly
    dirs = cast(np.ndarray, sum(d_cam[..., j : j + 1] * c2w[:3, j] for j in range(3)))
    origins = np.broadcast_to(c2w[:3, 3], dirs.shape)
    return origins, dirs


def render_view(
    scene: Scene,
    c2w: np.ndarray,
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    width: int,
    height: int,
    supersample: int = 2,
) -> dict[str, np.ndarray]:
    """Render one pinhole view (c2w [4, 4] or [3, 4], OpenGL convention).

    Returns rgb [H, W, 3] float32 display values in [0, 1] (mean of s x s linear sub-samples,
    then gamma), rgb_linear [H, W, 3] float32 (the linear mean), depth [H, W] float32 z-depth at
    the pixel centre (inf for background), instance [H, W] int32 at the pixel centre.
    """
    s = int(supersample)
    origins, dirs = camera_rays(c2w, fx, fy, cx, cy, width, height, s)
    o = origins.reshape(-1, 3)
    d = dirs.reshape(-1, 3)
    t, instance, normal = cast_rays(scene, o, d)
    hit = np.isfinite(t)
    radiance = sky_color(scene, d)
    points = o[hit] + t[hit, None] * d[hit]
    radiance[hit] = shade_points(scene, points, normal[hit], instance[hit])
    linear = radiance.reshape(height, s, width, s, 3).mean(axis=(1, 3))

    if s == 1:
        depth, inst_center = t, instance
    else:  # depth and ids at the exact pixel centre, so they match projected geometry
        oc, dc = camera_rays(c2w, fx, fy, cx, cy, width, height, 1)
        depth, inst_center, _ = cast_rays(scene, oc.reshape(-1, 3), dc.reshape(-1, 3))
    return {
        "rgb": linear_to_display(linear).astype(np.float32),
        "rgb_linear": linear.astype(np.float32),
        "depth": depth.reshape(height, width).astype(np.float32),
        "instance": inst_center.reshape(height, width).astype(np.int32),
    }


# ----------------------------------------------------------------------------- seed points


def sample_surface_points(
    scene: Scene,
    n: int,
    rng: np.random.Generator,
    position_noise: float = 0.005,
    object_fraction: float = 0.7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SfM-like seed points on visible surfaces -> (xyz [n, 3] float32, rgb [n, 3] uint8, instance [n] int32).

    Rays from random viewpoints on a hemisphere around the scene towards random targets (a
    fraction `object_fraction` near the objects, the rest over the ground) give points that a
    camera can see (a target hidden from its viewpoint yields the occluder's point); colours are
    the shaded display colours; positions get isotropic Gaussian noise of `position_noise` units.
    """
    center = np.asarray(scene.center)
    xyz_parts, inst_parts, rgb_parts = [], [], []
    count = 0
    while count < n:
        m = max(64, int(1.3 * (n - count)))
        az = rng.uniform(0, 2 * math.pi, m)
        el = rng.uniform(math.radians(15), math.radians(75), m)
        dist = 3.0 * max(scene.radius, 0.5)
        origins = center + dist * np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)
        if scene.objects:  # aim most rays at the objects, which the ground would otherwise outnumber
            which = rng.integers(0, len(scene.objects), m)
            centers = np.array([o.center for o in scene.objects])[which]
            sizes = np.array([o.size for o in scene.objects])[which]
            object_targets = centers + rng.uniform(-1.2, 1.2, (m, 3)) * sizes
        else:
            object_targets = np.zeros((m, 3))
        ground_targets = rng.uniform(-scene.ground.half_size, scene.ground.half_size, (m, 3)) * [1, 1, 0]
        to_object = (rng.uniform(size=m) < object_fraction)[:, None] & bool(scene.objects)
        targets = np.where(to_object, object_targets, ground_targets)
        dirs = targets - origins
        t, inst, normal = cast_rays(scene, origins, dirs)
        hit = np.isfinite(t)
        pts = origins[hit] + t[hit, None] * dirs[hit]
        radiance = shade_points(scene, pts, normal[hit], inst[hit])
        xyz_parts.append(pts)
        inst_parts.append(inst[hit])
        rgb_parts.append(radiance)
        count += int(hit.sum())
    xyz = np.concatenate(xyz_parts)[:n]
    xyz = xyz + rng.normal(scale=position_noise, size=xyz.shape)
    rgb = np.round(linear_to_display(np.concatenate(rgb_parts)[:n]) * 255).astype(np.uint8)
    return xyz.astype(np.float32), rgb, np.concatenate(inst_parts)[:n].astype(np.int32)
