"""The ``rain`` degradation for ``ns-plugins-synth``: thin streaks on every training view.

Each training view gets its own streak layer L: ``streaks_per_kpx`` streaks per 1000 pixels (or, with
``density``, as many as cover that fraction of the pixels) at random positions, all at the scene's
rain angle (``angle_deg``, pixel coordinates x right / y down, 90 = vertical; random in [65, 115] when
not given) plus a per-view jitter (``jitter_deg`` std) and a per-streak spread (``streak_jitter_deg``
std); ``length`` x the image height long (+-30%) or U(``length_px_min``, ``length_px_max``) pixels,
``width`` (to ``width_max``) pixels wide (Gaussian profile), ``intensity`` bright (x U(0.6, 1), or
U(``intensity``, ``intensity_max``)). ``blend`` puts L on the clean image B:

- ``additive`` (RainyScape's model): Y = clip(B + L);
- ``screen`` (photo editors' rain overlays): Y = B + L (1 - B): weaker on bright background;
- ``mixed``: a ``dark_fraction`` of the streaks darken (rain refracting a darker background):
  Y = (B + Lb (1 - B)) (1 - Ld).

Test views stay clean; the clean images are the generator's gt/clean. The rain as an additive layer
R_true = Y - B goes to gt/rain/<stem>.png (its positive part) and, where it darkens, gt/rain_dark/
(its negative part); the angles and coverage to gt/scene.json.

    ns-plugins-synth --out data/rainy --degradation rain --degradation-options '{"angle_deg": 100, "intensity": 0.5}'
    ns-plugins-synth --out data/rainy --degradation rain --degradation-options \
        '{"blend": "screen", "length_px_min": 3, "length_px_max": 10, "density": 0.17, "angle_deg": 90,
          "streak_jitter_deg": 15}'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import numpy as np

from ns_plugins.data import writer
from ns_plugins.data.degradation import DegradationContext, DegradationResult, parse_degradation_options
from ns_plugins.data.errors import DataError

RAIN_DIR = "gt/rain"
RAIN_DARK_DIR = "gt/rain_dark"
COVERAGE_THRESHOLD = 0.02  # a pixel counts as rainy when the layer changes it by more than this
BLENDS = ("additive", "screen", "mixed")
MAX_DENSITY_ROUNDS = 50  # streak batches drawn at most to reach ``density``


@dataclass(frozen=True)
class RainOptions:
    """``--degradation-options`` of ``rain``."""

    angle_deg: Optional[float] = None
    """Scene rain angle, degrees along the streaks (90 = vertical); random in [65, 115] when None."""
    jitter_deg: float = 2.0
    """Std of each view's angle around the scene's."""
    streak_jitter_deg: float = 1.0
    """Std of each streak's angle around its view's (wind is not uniform)."""
    length: float = 0.2
    """Streak length as a fraction of the image height (x U(0.7, 1.3)); unused with length_px_min/max."""
    length_px_min: Optional[float] = None
    """Streak length in pixels, U(length_px_min, length_px_max) (max defaults to min)."""
    length_px_max: Optional[float] = None
    width: float = 1.0
    """Streak width in pixels (U(width, width_max) with width_max)."""
    width_max: Optional[float] = None
    streaks_per_kpx: float = 12.0
    """Streaks per 1000 pixels (Poisson); unused with density."""
    density: Optional[float] = None
    """Fraction of the pixels the streaks cover (the layer changes them by > 0.02): streaks are added until reached."""
    intensity: float = 0.5
    """Peak value of a streak, x U(0.6, 1); or U(intensity, intensity_max) with intensity_max."""
    intensity_max: Optional[float] = None
    blend: str = "additive"
    """How the streak layer goes on the image: additive, screen or mixed (see the module docstring)."""
    dark_fraction: float = 0.3
    """``mixed``: share of the streaks that darken."""


def parse_options(options: dict) -> RainOptions:
    """Validate ctx.options -> RainOptions (DataError naming the bad option)."""
    opts = parse_degradation_options(RainOptions, options, "rain")
    values = [opts.jitter_deg, opts.streak_jitter_deg, opts.length, opts.width, opts.streaks_per_kpx, opts.intensity]
    optional = [opts.length_px_min, opts.length_px_max, opts.width_max, opts.density, opts.intensity_max]
    if min(values + [v for v in optional if v is not None]) < 0:
        raise DataError(
            "--degradation-options",
            "rain lengths, widths, jitters, streaks_per_kpx, density and intensities must be non-negative",
        )
    if opts.blend not in BLENDS:
        raise DataError("--degradation-options", f"rain blend must be one of {', '.join(BLENDS)}, got {opts.blend!r}")
    if opts.density is not None and not 0 < opts.density < 1:
        raise DataError(
            "--degradation-options", f"rain density is a fraction of the pixels in (0, 1), got {opts.density}"
        )
    if not 0 <= opts.dark_fraction <= 1:
        raise DataError("--degradation-options", f"rain dark_fraction must be in [0, 1], got {opts.dark_fraction}")
    return opts


def streak_layer(
    height: int,
    width: int,
    angles: np.ndarray,
    centres: np.ndarray,
    lengths: np.ndarray,
    widths: np.ndarray,
    intensities: np.ndarray,
) -> np.ndarray:
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


def streak_lengths(rng: np.random.Generator, height: int, count: int, opts: RainOptions) -> np.ndarray:
    """[count] streak lengths in pixels."""
    if opts.length_px_min is None:
        return opts.length * height * rng.uniform(0.7, 1.3, count)
    high = opts.length_px_max if opts.length_px_max is not None else opts.length_px_min
    return rng.uniform(opts.length_px_min, max(high, opts.length_px_min), count)


def sample_streaks(
    rng: np.random.Generator, height: int, width: int, angle: float, count: int, opts: RainOptions
) -> Tuple[np.ndarray, ...]:
    """``count`` streaks around view angle ``angle`` (radians) -> (angles, centres [count, 2], lengths, widths,
    intensities)."""
    lengths_mean = opts.length * height if opts.length_px_min is None else opts.length_px_min
    reach = max(lengths_mean, opts.length_px_max or 0.0)
    centres = np.stack(
        [rng.uniform(-0.5 * reach, width + 0.5 * reach, count), rng.uniform(-0.5 * reach, height + 0.5 * reach, count)],
        1,
    )
    angles = angle + np.radians(opts.streak_jitter_deg) * rng.normal(size=count)
    lengths = streak_lengths(rng, height, count, opts)
    if opts.intensity_max is None:
        intensities = opts.intensity * rng.uniform(0.6, 1.0, count)
    else:
        intensities = rng.uniform(opts.intensity, max(opts.intensity, opts.intensity_max), count)
    widths = (
        np.full(count, opts.width)
        if opts.width_max is None
        else rng.uniform(opts.width, max(opts.width, opts.width_max), count)
    )
    return angles, centres, lengths, widths, intensities


def sample_view_rain(
    rng: np.random.Generator, height: int, width: int, angle: float, opts: RainOptions
) -> Tuple[np.ndarray, np.ndarray]:
    """One view's streak layers [H, W] in [0, 1] at view angle ``angle`` (radians): (brightening, darkening);
    the darkening one is zero unless ``blend`` is mixed."""
    bright = np.zeros((height, width))
    dark = np.zeros((height, width))
    if opts.density is None:
        rounds, count = 1, rng.poisson(opts.streaks_per_kpx * height * width / 1000.0)
    else:  # batches of ~1/4 of the estimated count until the covered fraction is reached
        mean_length = (
            opts.length * height
            if opts.length_px_min is None
            else 0.5 * (opts.length_px_min + (opts.length_px_max or opts.length_px_min))
        )
        per_streak = (mean_length + 1.0) * (0.5 * (opts.width + (opts.width_max or opts.width)) + 1.0)
        rounds, count = MAX_DENSITY_ROUNDS, max(1, round(0.25 * opts.density * height * width / per_streak))
    for _ in range(rounds):
        angles, centres, lengths, widths, intensities = sample_streaks(rng, height, width, angle, count, opts)
        darkens = rng.uniform(size=count) < opts.dark_fraction if opts.blend == "mixed" else np.zeros(count, dtype=bool)
        bright += streak_layer(
            height,
            width,
            angles[~darkens],
            centres[~darkens],
            lengths[~darkens],
            widths[~darkens],
            intensities[~darkens],
        )
        dark += streak_layer(
            height, width, angles[darkens], centres[darkens], lengths[darkens], widths[darkens], intensities[darkens]
        )
        if (
            opts.density is not None
            and float(((bright > COVERAGE_THRESHOLD) | (dark > COVERAGE_THRESHOLD)).mean()) >= opts.density
        ):
            break
    return np.clip(bright, 0.0, 1.0), np.clip(dark, 0.0, 1.0)


def blend_rain(clean: np.ndarray, bright: np.ndarray, dark: np.ndarray, blend: str) -> np.ndarray:
    """Rainy image [H, W, 3] from clean [H, W, 3] and streak layers [H, W, 1] (see the module docstring)."""
    if blend == "additive":
        return np.clip(clean + bright, 0.0, 1.0)
    screened = clean + bright * (1.0 - clean)
    return screened if blend == "screen" else screened * (1.0 - dark)


def rain(ctx: DegradationContext) -> DegradationResult:
    """Rain streaks on every training view; see the module docstring."""
    opts = parse_options(ctx.options)
    scene_angle = (
        math.radians(opts.angle_deg) if opts.angle_deg is not None else math.radians(ctx.rng.uniform(65.0, 115.0))
    )
    result = DegradationResult()
    view_angles, coverage = {}, []
    for i in ctx.train_indices:
        cam, stem = ctx.cameras[i], ctx.stems[int(i)]
        angle = scene_angle + math.radians(opts.jitter_deg) * ctx.rng.normal()
        bright, dark = sample_view_rain(ctx.rng, cam.height, cam.width, angle, opts)
        clean = np.asarray(ctx.clean[i]["rgb"], dtype=np.float64)
        rainy = blend_rain(clean, bright[..., None], dark[..., None], opts.blend)
        result.images[stem] = rainy
        writer.write_rgb_png(ctx.out_dir / f"{RAIN_DIR}/{stem}.png", np.clip(rainy - clean, 0.0, 1.0))
        if opts.blend == "mixed":
            writer.write_rgb_png(ctx.out_dir / f"{RAIN_DARK_DIR}/{stem}.png", np.clip(clean - rainy, 0.0, 1.0))
        view_angles[stem] = math.degrees(angle) % 180.0
        coverage.append(float((np.abs(rainy - clean).max(-1) > COVERAGE_THRESHOLD).mean()))
    result.ground_truth = {
        "options": asdict(opts),
        "angle_deg": math.degrees(scene_angle) % 180.0,
        "angle_convention": "degrees along the streaks, pixel x right / y down, 90 = vertical, modulo 180",
        "view_angles_deg": view_angles,
        "coverage": float(np.mean(coverage)) if coverage else 0.0,
        "files": {
            "rain": RAIN_DIR + "/{stem}.png",
            **({"rain_dark": RAIN_DARK_DIR + "/{stem}.png"} if opts.blend == "mixed" else {}),
        },
    }
    return result
