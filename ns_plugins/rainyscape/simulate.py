"""The ``rain`` degradation for ``ns-plugins-synth``: thin bright streaks on every training view.

Each training view gets its own rain layer: ``streaks_per_kpx`` streaks per 1000 pixels at random
positions, all at the scene's rain angle (``angle_deg``, pixel coordinates x right / y down,
90 = vertical; random in [65, 115] when not given) plus a per-view jitter (``jitter_deg`` std) and a
small per-streak spread, ``length`` x the image height long (+-30%), ``width`` pixels wide (Gaussian
profile) and ``intensity`` bright (x U(0.6, 1)). The layer is added to the clean display image
(Y = clip(B + R)), as RainyScape models rain. Test views stay clean; the clean images are the
generator's gt/clean, the rain layers go to gt/rain/<stem>.png, the angles and coverage to
gt/scene.json.

    ns-plugins-synth --out data/rainy --degradation rain --degradation-options '{"angle_deg": 100, "intensity": 0.5}'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from ns_plugins.data import writer
from ns_plugins.data.degradation import DegradationContext, DegradationResult, parse_degradation_options
from ns_plugins.data.errors import DataError

RAIN_DIR = "gt/rain"
COVERAGE_THRESHOLD = 0.02  # a pixel counts as rainy when the layer adds more than this
STREAK_SPREAD_DEG = 1.0  # per-streak angle std around the view's angle (wind is not uniform)


@dataclass(frozen=True)
class RainOptions:
    """``--degradation-options`` of ``rain``."""

    angle_deg: Optional[float] = None
    jitter_deg: float = 2.0
    length: float = 0.2
    width: float = 1.0
    streaks_per_kpx: float = 12.0
    intensity: float = 0.5


def parse_options(options: dict) -> RainOptions:
    """Validate ctx.options -> RainOptions (DataError naming the bad option)."""
    opts = parse_degradation_options(RainOptions, options, "rain")
    if min(opts.jitter_deg, opts.length, opts.width, opts.streaks_per_kpx, opts.intensity) < 0:
        raise DataError("--degradation-options", "rain jitter_deg, length, width, streaks_per_kpx and intensity must be non-negative")
    return opts


def streak_layer(height: int, width: int, angles: np.ndarray, centres: np.ndarray, lengths: np.ndarray, widths: np.ndarray, intensities: np.ndarray) -> np.ndarray:
    """Rain layer [H, W] >= 0: the sum of anti-aliased line segments.

    Args:
        angles, lengths, widths, intensities: [S] per streak (radians along the streak; pixels).
        centres: [S, 2] (x, y) in pixels (pixel centres at +0.5).
    """
    layer = np.zeros((height, width), dtype=np.float64)
    for a, (cx, cy), length, w, value in zip(angles, centres, lengths, widths, intensities):
        half = 0.5 * length * np.array([abs(math.cos(a)), abs(math.sin(a))]) + 2 * w + 1
        x0, x1 = max(0, int(cx - half[0])), min(width, int(math.ceil(cx + half[0])) + 1)
        y0, y1 = max(0, int(cy - half[1])), min(height, int(math.ceil(cy + half[1])) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        x, y = np.meshgrid(np.arange(x0, x1) + 0.5 - cx, np.arange(y0, y1) + 0.5 - cy)
        along = x * math.cos(a) + y * math.sin(a)
        across = -x * math.sin(a) + y * math.cos(a)
        profile = np.exp(-0.5 * (across / max(0.5 * w, 0.35)) ** 2)
        ends = np.clip(0.5 * length + 0.5 - np.abs(along), 0.0, 1.0)  # one-pixel soft ends
        layer[y0:y1, x0:x1] += value * profile * ends
    return layer


def sample_view_rain(rng: np.random.Generator, height: int, width: int, angle: float, opts: RainOptions) -> np.ndarray:
    """One view's rain layer [H, W] at view angle ``angle`` (radians)."""
    count = rng.poisson(opts.streaks_per_kpx * height * width / 1000.0)
    reach = opts.length * height
    centres = np.stack([rng.uniform(-0.5 * reach, width + 0.5 * reach, count), rng.uniform(-0.5 * reach, height + 0.5 * reach, count)], 1)
    angles = angle + np.radians(STREAK_SPREAD_DEG) * rng.normal(size=count)
    lengths = reach * rng.uniform(0.7, 1.3, count)
    intensities = opts.intensity * rng.uniform(0.6, 1.0, count)
    return np.clip(streak_layer(height, width, angles, centres, lengths, np.full(count, opts.width), intensities), 0.0, 1.0)


def rain(ctx: DegradationContext) -> DegradationResult:
    """Rain streaks on every training view; see the module docstring."""
    opts = parse_options(ctx.options)
    scene_angle = math.radians(opts.angle_deg) if opts.angle_deg is not None else math.radians(ctx.rng.uniform(65.0, 115.0))
    result = DegradationResult()
    view_angles, coverage = {}, []
    for i in ctx.train_indices:
        cam, stem = ctx.cameras[i], ctx.stems[i]
        angle = scene_angle + math.radians(opts.jitter_deg) * ctx.rng.normal()
        layer = sample_view_rain(ctx.rng, cam.height, cam.width, angle, opts)[..., None].repeat(3, axis=-1)
        clean = np.asarray(ctx.clean[i]["rgb"], dtype=np.float64)
        result.images[stem] = np.clip(clean + layer, 0.0, 1.0)
        writer.write_rgb_png(ctx.out_dir / f"{RAIN_DIR}/{stem}.png", layer)
        view_angles[stem] = math.degrees(angle) % 180.0
        coverage.append(float((layer[..., 0] > COVERAGE_THRESHOLD).mean()))
    result.ground_truth = {
        "options": asdict(opts),
        "angle_deg": math.degrees(scene_angle) % 180.0,
        "angle_convention": "degrees along the streaks, pixel x right / y down, 90 = vertical, modulo 180",
        "view_angles_deg": view_angles,
        "coverage": float(np.mean(coverage)) if coverage else 0.0,
        "files": {"rain": RAIN_DIR + "/{stem}.png"},
    }
    return result
