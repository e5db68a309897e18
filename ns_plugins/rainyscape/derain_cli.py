"""``ns-rainyscape-derain``: write a trained rainyscape run's derained training images (and rain layers).

    ns-rainyscape-derain --load-config outputs/.../config.yml --output-dir derained/

writes ``derained/<image stem>.png`` (the clean render of each training view, full resolution),
unless ``--no-photo`` ``derained/photo/<image stem>.png`` (the training photo with its rain taken out,
Y - R, and its dark streaks along the rain angle filled from the render (``derained_photo``): it keeps
the photo's own detail and per-view blur, which a render of the 3D scene cannot; rain the layer missed
stays in it), and, unless ``--no-rain``, ``derained/rain/<image stem>.png`` (the rain R taken out: the
predicted layer clamped to the photo's top-hats, ``--rain-bound-fraction``; with a darkening layer,
``--pipeline.model.predictor.darkening True``, its positive part, and the negative part in
``derained/rain_dark/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, cast

from ns_plugins.data import writer
from ns_plugins.data.errors import DataError, exits_on_data_error
from ns_plugins.rainyscape.derained_photo import STREAK_LENGTH_PX, STREAK_WIDTH_PX

if TYPE_CHECKING:
    from ns_plugins.rainyscape.model import RainyScapeModel


@dataclass
class DerainArgs:
    """Write the derained training images of a trained rainyscape run."""

    load_config: Path
    """The run's config.yml."""
    output_dir: Path = Path("derained")
    """Where to write <stem>.png (the clean renders), photo/, rain/ and rain_dark/."""
    rain: bool = True
    """Also write each view's rain layer under <output-dir>/rain/."""
    photo: bool = True
    """Also write each training photo with its rain taken out under <output-dir>/photo/."""
    dark_streaks: bool = True
    """In photo/, fill thin dark lines along the rain angle from the render (rain that darkens, which the rain
    layer R >= 0 cannot hold); off: photo/ is Y - R. Not used with a darkening layer, which holds them."""
    streak_width: int = STREAK_WIDTH_PX
    """Pixels (odd) across the dark streaks filled: streaks up to about width - 2 px wide are filled. Raise it for
    wide streaks at high resolution."""
    streak_length: int = STREAK_LENGTH_PX
    """Pixels (odd) along them: a dark line at least this long along the rain counts as a streak."""
    rain_bound_fraction: Optional[float] = None
    """The rain taken out of photo/ (and written to rain/) is clamped to each photo's top-hats with a square this
    share of the image width: rain only where the photo has structure thinner than that, none on a smooth sky
    (there the predicted layer also holds some of the render's misfit). Default: the run's
    --pipeline.model.rain-bound-fraction (0.1 in both presets), the bound its Gaussians trained with; 0: the
    layer as predicted. Raise it for dense rain, whose streaks merge into patches wider than the square."""


def main(args: DerainArgs) -> Path:
    from ns_plugins.rainyscape.evaluation import derained_photos, photo_rain_layers, render_train_views, train_stems
    from ns_plugins.splat.evaluate import load_trained_pipeline

    if not Path(args.load_config).is_file():
        raise DataError(args.load_config, "no such config file (pass the config.yml of an ns-train run)")
    for flag, value in (("--streak-width", args.streak_width), ("--streak-length", args.streak_length)):
        if value < 1 or value % 2 == 0:
            raise DataError(flag, f"must be an odd number of pixels, got {value}")
    if args.rain_bound_fraction is not None and not 0.0 <= args.rain_bound_fraction <= 1.0:
        raise DataError(
            "--rain-bound-fraction", f"must be a share of the image width in [0, 1], got {args.rain_bound_fraction}"
        )
    pipeline, _ = load_trained_pipeline(args.load_config)
    if not hasattr(pipeline.model, "predictor"):
        raise DataError(args.load_config, "not a rainyscape run (its model has no rain predictor)")
    model = cast("RainyScapeModel", pipeline.model)
    views = render_train_views(pipeline)
    darkening = model.config.predictor.darkening
    rains = photo_rain_layers(pipeline, views, args.rain_bound_fraction)
    photos = (
        derained_photos(pipeline, views, args.streak_width, args.streak_length, args.dark_streaks, rains)
        if args.photo
        else [None] * len(views)
    )
    for stem, (clean, _), rain, photo in zip(train_stems(pipeline), views, rains, photos):
        writer.write_rgb_png(args.output_dir / f"{stem}.png", clean.numpy())
        if photo is not None:
            writer.write_rgb_png(args.output_dir / "photo" / f"{stem}.png", photo.numpy())
        if args.rain:
            writer.write_rgb_png(args.output_dir / "rain" / f"{stem}.png", rain.clamp(0, 1).numpy())
            if darkening:  # the layer's negative part, as the generator's gt/rain_dark
                writer.write_rgb_png(args.output_dir / "rain_dark" / f"{stem}.png", (-rain).clamp(0, 1).numpy())
    print(
        f"wrote {len(views)} derained training images to {args.output_dir}"
        + (f" (the photos without their rain in {args.output_dir / 'photo'})" if args.photo else "")
        + (f" (rain layers in {args.output_dir / 'rain'})" if args.rain else "")
        + (f" (darkening layers in {args.output_dir / 'rain_dark'})" if args.rain and darkening else "")
    )
    angle = model.rain_angle()
    if angle is not None:  # sparse rain can mislead the estimate: say it, so a user can check it against the photos
        print(f"rain angle: {math.degrees(angle) % 180.0:.1f} deg (image plane, along the streaks)")
    return args.output_dir


@exits_on_data_error
def entrypoint() -> None:
    import tyro

    main(tyro.cli(DerainArgs))


if __name__ == "__main__":
    entrypoint()
