"""The ``motion-blur`` degradation for ``ns-plugins-synth``.

Each training image becomes the mean, in linear light, of ``num_subframes`` sharp renders along
a random smooth camera path through the exposure, tone-mapped back (gamma 2.2, as the scene's
display images are). The path, relative to the frame's pose (its mid-exposure pose), is

    xi(s) = u v + u^2 a,   u = s - 0.5,  s in [0, 1]        (a body-frame twist, rho then omega)

with v a random velocity (rotation ``rotation_deg`` over the exposure about a random axis,
translation ``translation`` x the camera's distance to the scene centre in a random direction)
and a a curvature of ``curvature`` x |v|. The sharp mid-exposure image is the clean render already
under gt/clean; test views stay sharp, and so does a random ``sharp_fraction`` of the training
views (a still camera: its path is zero). Optional pose noise perturbs the training poses written
to transforms.json by exactly ``pose_noise_deg`` (random axis) and ``pose_noise_translation`` x
the camera distance (random direction); the true poses are kept in gt/scene.json.

    ns-plugins-synth --out data/blurry --degradation motion-blur \
        --degradation-options '{"rotation_deg": 4, "pose_noise_deg": 2, "pose_noise_translation": 0.05}'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ns_plugins.data.degradation import DegradationContext, DegradationResult, parse_degradation_options
from ns_plugins.data.errors import DataError
from ns_plugins.splat.geometry import se3_exp

GAMMA = 2.2


@dataclass(frozen=True)
class MotionBlurOptions:
    """``--degradation-options`` of ``motion-blur``."""

    num_subframes: int = 16
    rotation_deg: float = 3.0
    translation: float = 0.02
    curvature: float = 0.5
    pose_noise_deg: float = 0.0
    pose_noise_translation: float = 0.0
    sharp_fraction: float = 0.0


def parse_options(options: dict) -> MotionBlurOptions:
    """Validate ctx.options -> MotionBlurOptions (DataError naming the bad option)."""
    opts = parse_degradation_options(MotionBlurOptions, options, "motion-blur")
    if opts.num_subframes < 1:
        raise DataError(
            "--degradation-options",
            f"num_subframes must be at least 1 (got {opts.num_subframes}): a blur needs sub-frames",
        )
    if min(opts.rotation_deg, opts.translation, opts.curvature, opts.pose_noise_deg, opts.pose_noise_translation) < 0:
        raise DataError("--degradation-options", "motion-blur magnitudes must be non-negative")
    if opts.sharp_fraction > 1:
        raise DataError("--degradation-options", f"sharp_fraction must be in [0, 1], got {opts.sharp_fraction}")
    return opts


def random_direction(rng: np.random.Generator) -> np.ndarray:
    """Unit vector [3], uniform on the sphere."""
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def sample_path(rng: np.random.Generator, distance: float, opts: MotionBlurOptions) -> dict:
    """Random path parameters {velocity [6], curvature [6]} for a camera at ``distance`` from the scene."""
    velocity = np.concatenate(
        [random_direction(rng) * opts.translation * distance, random_direction(rng) * np.radians(opts.rotation_deg)]
    )
    curvature = np.concatenate(
        [random_direction(rng) * np.linalg.norm(velocity[:3]), random_direction(rng) * np.linalg.norm(velocity[3:])]
    )
    return {"velocity": velocity.tolist(), "curvature": (opts.curvature * curvature).tolist()}


def path_poses(mid_c2w: np.ndarray, path: dict, times: np.ndarray) -> np.ndarray:
    """Poses [T, 4, 4] at exposure times [T] in [0, 1] along ``path`` around mid_c2w [4, 4]."""
    u = torch.as_tensor(np.asarray(times, dtype=np.float64) - 0.5)[:, None]
    twist = u * torch.tensor(path["velocity"], dtype=torch.float64) + u**2 * torch.tensor(
        path["curvature"], dtype=torch.float64
    )
    return np.asarray(mid_c2w, dtype=np.float64)[None] @ se3_exp(twist).numpy()


def perturb_pose(c2w: np.ndarray, rng: np.random.Generator, rotation_deg: float, translation: float) -> np.ndarray:
    """c2w [4, 4] rotated by exactly rotation_deg about a random axis (about the camera centre) and moved by
    translation."""
    twist = np.concatenate([np.zeros(3), random_direction(rng) * np.radians(rotation_deg)])
    out = c2w @ se3_exp(torch.as_tensor(twist)).numpy()
    out[:3, 3] += random_direction(rng) * translation
    return out


def motion_blur(ctx: DegradationContext) -> DegradationResult:
    """Blur every training image along a random path; see the module docstring."""
    opts = parse_options(ctx.options)
    center = np.asarray(ctx.scene.center, dtype=np.float64)
    times = (np.arange(opts.num_subframes) + 0.5) / opts.num_subframes
    result = DegradationResult(ground_truth={"options": asdict(opts), "gamma": GAMMA, "paths": {}, "true_poses": {}})
    num_sharp = round(opts.sharp_fraction * len(ctx.train_indices))
    still = set(ctx.rng.choice(len(ctx.train_indices), num_sharp, replace=False).tolist()) if num_sharp else set()
    for k, i in enumerate(ctx.train_indices):
        cam, stem = ctx.cameras[i], ctx.stems[int(i)]
        distance = float(np.linalg.norm(cam.c2w[:3, 3] - center))
        path = sample_path(ctx.rng, distance, opts)
        if k in still:
            path = {key: [0.0] * 6 for key in path}
        linear = np.mean(
            [ctx.render_camera(cam, c2w=pose)["rgb_linear"] for pose in path_poses(cam.c2w, path, times)], axis=0
        )
        result.images[stem] = np.clip(linear, 0, None) ** (1 / GAMMA)
        result.ground_truth["paths"][stem] = path
        result.ground_truth["true_poses"][stem] = cam.c2w.tolist()
        if opts.pose_noise_deg > 0 or opts.pose_noise_translation > 0:
            noisy = perturb_pose(cam.c2w, ctx.rng, opts.pose_noise_deg, opts.pose_noise_translation * distance)
            result.frames[stem] = {"transform_matrix": noisy.tolist()}
    return result
