"""``ns-plugins-synth``: make a synthetic nerfstudio-data dataset with ground truth.

    ns-plugins-synth --out data/synth0 --seed 0 --num-train 24 --num-test 8 --width 64 --height 64
    ns-plugins-synth --out data/blurry --degradation <name> --degradation-options '{"strength": 1.0}'

The dataset layout is documented in ``ns_plugins.data.writer``; degradations in
``ns_plugins.data.degradation``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ns_plugins.data import writer
from ns_plugins.data.cameras import interleaved_split, make_cameras, orbit_poses, pinhole_intrinsics
from ns_plugins.data.degradation import DegradationContext, get_degradation
from ns_plugins.data.errors import DataError, exits_on_data_error
from ns_plugins.data.scene import (
    BACKGROUND_ID,
    GROUND_ID,
    Scene,
    make_scene,
    render_view,
    sample_sky_points,
    sample_surface_points,
)

GENERATOR_NAME = "ns-plugins-synth"
# orbit radius in units of the scene's bounding radius: objects fill most of a 50-degree view
ORBIT_RADIUS_SCALE = 3.0
SKY_POINT_FRACTION = 0.1  # seed points on a far dome so Gaussians can model the sky


def _prepare_output_dir(out: Path, overwrite: bool) -> None:
    """Create `out`; an existing non-empty folder is replaced only if this generator wrote it."""
    if out.exists() and not out.is_dir():
        raise DataError(out, "output path exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        marker = out / writer.SCENE_JSON
        ours = marker.is_file() and GENERATOR_NAME in marker.read_text()
        if not (overwrite and ours):
            why = "pass overwrite to replace it" if ours else "it was not written by ns-plugins-synth"
            raise DataError(out, f"output folder is not empty ({why})")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def generate_dataset(
    out: Path | str,
    seed: int = 0,
    num_train: int = 24,
    num_test: int = 8,
    width: int = 64,
    height: int = 64,
    num_objects: int = 4,
    degradation: str = "none",
    num_seed_points: int = 4000,
    fov_deg: float = 50.0,
    supersample: int = 2,
    degradation_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    texture_frequency_scale: float = 1.0,
) -> Path:
    """Render and write a dataset (layout in ``ns_plugins.data.writer``) -> the dataset folder.

    Everything is a deterministic function of the arguments. Random streams: the scene uses
    `seed`; cameras, seed points and the degradation each get a child of SeedSequence(seed).
    """
    if num_train < 1 or num_test < 0:
        raise DataError("--num-train/--num-test", f"need num_train >= 1 and num_test >= 0, got {num_train}, {num_test}")
    if width < 1 or height < 1:
        raise DataError("--width/--height", f"image size must be positive, got {width}x{height}")
    degrade = get_degradation(degradation)  # fail on a bad name before any work
    out = Path(out)
    _prepare_output_dir(out, overwrite)
    camera_rng, points_rng, degradation_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))

    scene = make_scene(seed, num_objects, texture_frequency_scale)
    total = num_train + num_test
    poses = orbit_poses(total, np.asarray(scene.center), ORBIT_RADIUS_SCALE * scene.radius, camera_rng)
    cameras = make_cameras(poses, *pinhole_intrinsics(width, height, fov_deg), width, height)
    train_idx, test_idx = interleaved_split(num_train, num_test)
    stems = [writer.frame_stem(i) for i in range(total)]

    renders = []
    for cam, stem in zip(cameras, stems):
        render = render_view(scene, cam.c2w, cam.fx, cam.fy, cam.cx, cam.cy, width, height, supersample=supersample)
        writer.write_rgb_png(out / writer.image_relpath(stem), render["rgb"])
        writer.write_frame_ground_truth(out, stem, render)
        renders.append(render)

    num_sky = round(SKY_POINT_FRACTION * num_seed_points)
    surface = sample_surface_points(scene, num_seed_points - num_sky, points_rng)
    sky = sample_sky_points(scene, num_sky, points_rng)
    xyz, rgb, point_instance = (np.concatenate(parts) for parts in zip(surface, sky))
    writer.write_points_ply(out / writer.PLY_NAME, xyz, rgb)
    np.save(out / writer.POINTS_INSTANCE, point_instance)

    options = dict(degradation_options or {})
    ctx = DegradationContext(
        scene=scene,
        render=render_view,
        cameras=cameras,
        stems=stems,
        train_indices=train_idx,
        test_indices=test_idx,
        clean=renders,
        rng=degradation_rng,
        out_dir=out,
        supersample=supersample,
        options=options,
    )
    result = degrade(ctx)
    for stem, image in result.images.items():
        if stem not in stems:
            raise ValueError(f"degradation {degradation!r} returned an image for unknown frame {stem!r}")
        writer.write_rgb_png(out / writer.image_relpath(stem), image)

    transforms = writer.transforms_dict(cameras, stems, ctx.train_stems, ctx.test_stems)
    transforms = writer.merge_frame_keys({**transforms, **result.transforms}, result.frames)
    writer.write_json(out / "transforms.json", transforms)
    params = dict(
        seed=seed,
        num_train=num_train,
        num_test=num_test,
        width=width,
        height=height,
        num_objects=num_objects,
        num_seed_points=num_seed_points,
        fov_deg=fov_deg,
        supersample=supersample,
        texture_frequency_scale=texture_frequency_scale,
    )
    writer.write_json(out / writer.SCENE_JSON, _scene_record(scene, ctx, params, degradation, result.ground_truth))
    return out


def _scene_record(scene: Scene, ctx: DegradationContext, params: dict, name: str, extra: dict) -> dict:
    """Content of gt/scene.json: how the dataset was made and what is in it."""
    cam = ctx.cameras[0]
    instances = [{"id": BACKGROUND_ID, "name": "background"}, {"id": GROUND_ID, "name": "ground"}]
    instances += [{"id": o.instance_id, "name": o.name, "kind": o.kind} for o in scene.objects]
    return {
        "generator": GENERATOR_NAME,
        "seed": params["seed"],
        "params": params,
        "instances": instances,
        "scene": scene.to_dict(),
        "intrinsics": {
            "fx": cam.fx,
            "fy": cam.fy,
            "cx": cam.cx,
            "cy": cam.cy,
            "width": cam.width,
            "height": cam.height,
        },
        "train_stems": ctx.train_stems,
        "test_stems": ctx.test_stems,
        "files": {
            "clean": writer.CLEAN_DIR + "/{stem}.png",
            "depth": writer.DEPTH_DIR + "/{stem}.npy",
            "instance": writer.INSTANCE_DIR + "/{stem}.png",
            "points_instance": writer.POINTS_INSTANCE,
        },
        "display_gamma": 2.2,
        "degradation": {"name": name, "options": ctx.options, **extra},
    }


@dataclass
class SynthArgs:
    """Make a synthetic nerfstudio-data dataset (images, transforms.json, points.ply) with ground truth under gt/."""

    out: Path
    """Output folder (created; must be empty unless --overwrite and written by this tool)."""
    seed: int = 0
    num_train: int = 24
    num_test: int = 8
    width: int = 64
    height: int = 64
    num_objects: int = 4
    degradation: str = "none"
    """Name of a degradation (built-in 'none', or installed through the ns_plugins.degradations entry points)."""
    degradation_options: str = "{}"
    """JSON object passed to the degradation as ctx.options."""
    num_seed_points: int = 4000
    fov_deg: float = 50.0
    supersample: int = 2
    texture_frequency_scale: float = 1.0
    """Multiplies the objects' texture frequencies (lower: coarser detail)."""
    overwrite: bool = False


def main(args: SynthArgs) -> Path:
    """Run the generator for parsed arguments and print what was written."""
    try:
        options = json.loads(args.degradation_options)
    except json.JSONDecodeError as err:
        raise DataError("--degradation-options", f"not valid JSON: {err.msg}") from None
    if not isinstance(options, dict):
        raise DataError("--degradation-options", "must be a JSON object")
    out = generate_dataset(
        args.out,
        seed=args.seed,
        num_train=args.num_train,
        num_test=args.num_test,
        width=args.width,
        height=args.height,
        num_objects=args.num_objects,
        degradation=args.degradation,
        num_seed_points=args.num_seed_points,
        fov_deg=args.fov_deg,
        supersample=args.supersample,
        degradation_options=options,
        overwrite=args.overwrite,
        texture_frequency_scale=args.texture_frequency_scale,
    )
    print(
        f"wrote {out}: {args.num_train} train + {args.num_test} test views {args.width}x{args.height} "
        f"(images/, transforms.json), {args.num_seed_points} seed points (points.ply), "
        f"ground truth (gt/clean, gt/depth, gt/instance, gt/scene.json), degradation '{args.degradation}'"
    )
    return out


@exits_on_data_error
def entrypoint() -> None:
    """Console script ``ns-plugins-synth``."""
    import tyro

    main(tyro.cli(SynthArgs))


if __name__ == "__main__":
    entrypoint()
