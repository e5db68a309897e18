"""Derained training views and scores against a synthetic dataset's ground truth.

- ``render_train_views``: any trained pipeline's clean render of each training view (for
  rainyscape also its rain layer); the same function scores the baseline, whose render of a
  training view is its only "derained" image.
- ``train_photos`` / ``photo_rain_layers`` / ``derained_photos``: the rainy training photos Y, the rain
  taken out of each (the predicted layer clamped to the photo's top-hats, the bound the run's Gaussians
  trained with) and each photo with it taken out (``derained_photo``: Y - R, dark streaks from the render):
  the photo's own detail where the render is the scene's 3D-consistent estimate (``ns-rainyscape-derain``
  writes all three).
- ``train_view_metrics`` / ``rainy_input_metrics``: PSNR/SSIM of those renders / of the rainy
  inputs themselves against gt/clean; ``photo_derained_metrics``: of the derained photos.
- ``rain_angle_error_deg``: the model's rain angle estimate against gt/scene.json's.
- ``rain_layer_error``: the rain taken out of the training photos against gt/rain (- gt/rain_dark).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Tuple, cast

import numpy as np
import torch
from PIL import Image

from ns_plugins.data import metrics
from ns_plugins.rainyscape.derained_photo import STREAK_LENGTH_PX, STREAK_WIDTH_PX, derained_photo
from ns_plugins.rainyscape.rain_angle import angle_difference
from ns_plugins.rainyscape.rain_bound import bound_size, clamp_rain

TrainViews = List[Tuple[torch.Tensor, Optional[torch.Tensor]]]
"""(clean [H, W, 3], rain [H, W, 3] or None) per training view: ``render_train_views``' result, rendered once
and passed to each score below."""


def load_rgb(path: Path) -> torch.Tensor:
    """An image file -> float [H, W, 3] in [0, 1]."""
    with Image.open(path) as img:
        return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0)


def image_pair_metrics(preds: List[torch.Tensor], targets: List[torch.Tensor]) -> Dict[str, float]:
    """Mean PSNR and SSIM over pairs of [H, W, 3] images."""
    pred, target = torch.stack(preds).float(), torch.stack(targets).float()
    return {"psnr": float(metrics.psnr(pred, target).mean()), "ssim": float(metrics.ssim(pred, target).mean())}


def train_stems(pipeline) -> List[str]:
    """Stems of the pipeline's training images, in camera order."""
    return [Path(p).stem for p in pipeline.datamanager.train_dataset.image_filenames]


@torch.no_grad()
def render_train_views(pipeline) -> TrainViews:
    """(clean [H, W, 3], rain [H, W, 3] or None) of every training view at full resolution."""
    model = pipeline.model
    was_training = model.training
    model.eval()
    cameras = pipeline.datamanager.train_dataset.cameras
    views = []
    try:
        for i in range(len(cameras)):
            outputs = model.get_outputs_for_camera(cameras[i : i + 1].to(model.device))
            rain = outputs.get("rain")
            views.append((outputs["rgb"].clamp(0, 1).cpu(), None if rain is None else rain.cpu()))
    finally:
        model.train(was_training)
    return views


def train_photos(pipeline) -> List[torch.Tensor]:
    """The training photos [H, W, 3] (the rainy images the run trained on), in camera order."""
    dataset = pipeline.datamanager.train_dataset
    return [dataset.get_image_float32(i)[..., :3] for i in range(len(dataset))]


def photo_rain_layers(
    pipeline, views: Optional[TrainViews] = None, bound_fraction: Optional[float] = None
) -> List[torch.Tensor]:
    """The rain to take out of each training photo [H, W, 3], in camera order (rainyscape runs only): the
    predicted layer clamped to that photo's top-hats (``clamp_rain``) with a square ``bound_fraction`` of the
    image width, so no rain is taken out where the photo is smooth (the layer also holds some of the render's
    misfit there). bound_fraction None: the run's ``rain_bound_fraction``, the bound its Gaussians trained
    with (none if the run had none); 0: the layer as predicted."""
    views = render_train_views(pipeline) if views is None else views
    if any(rain is None for _, rain in views):
        raise ValueError("rain layers need a run with a rain predictor (rainyscape)")
    fraction = pipeline.model.config.rain_bound_fraction if bound_fraction is None else bound_fraction
    rains = [cast(torch.Tensor, rain) for _, rain in views]
    if not fraction:
        return rains
    return [clamp_rain(rain, y, bound_size(fraction, y.shape[1])) for rain, y in zip(rains, train_photos(pipeline))]


def derained_photos(
    pipeline,
    views: Optional[TrainViews] = None,
    streak_width: int = STREAK_WIDTH_PX,
    streak_length: int = STREAK_LENGTH_PX,
    fill_dark_streaks: bool = True,
    rains: Optional[List[torch.Tensor]] = None,
) -> List[torch.Tensor]:
    """Each training photo [H, W, 3] with its rain taken out (``derained_photo``), in camera order (rainyscape
    runs only). streak_width / streak_length: pixels across / along the dark streaks the render fills
    (``dark_streaks``); fill_dark_streaks False: Y - R. rains: the rain to take out of each photo (default:
    ``photo_rain_layers`` with the run's bound)."""
    views = render_train_views(pipeline) if views is None else views
    rains = photo_rain_layers(pipeline, views) if rains is None else rains
    model = pipeline.model
    # a signed rain layer holds the dark streaks itself; R >= 0 leaves them to the render
    angle = model.rain_angle() if fill_dark_streaks and not model.config.predictor.darkening else None
    return [
        derained_photo(y, rain, clean, angle, streak_width, streak_length)
        for y, (clean, _), rain in zip(train_photos(pipeline), views, rains)
    ]


def photo_derained_metrics(pipeline, data: Path, views: Optional[TrainViews] = None) -> Dict[str, float]:
    """The training photos with their rain taken out (``derained_photos``) vs gt/clean (rainyscape runs only)."""
    targets = [load_rgb(Path(data) / f"gt/clean/{s}.png") for s in train_stems(pipeline)]
    return image_pair_metrics(derained_photos(pipeline, views), targets)


def train_view_metrics(pipeline, data: Path, views: Optional[TrainViews] = None) -> Dict[str, float]:
    """Clean renders of the training views vs gt/clean."""
    targets = [load_rgb(Path(data) / f"gt/clean/{s}.png") for s in train_stems(pipeline)]
    views = render_train_views(pipeline) if views is None else views
    return image_pair_metrics([clean for clean, _ in views], targets)


def rainy_input_metrics(data: Path) -> Dict[str, float]:
    """The rainy training images themselves vs gt/clean."""
    stems = json.loads((Path(data) / "gt/scene.json").read_text())["train_stems"]
    return image_pair_metrics(
        [load_rgb(Path(data) / f"images/{s}.png") for s in stems],
        [load_rgb(Path(data) / f"gt/clean/{s}.png") for s in stems],
    )


def true_rain_angle_deg(data: Path) -> float:
    """The synthetic scene's rain angle (degrees along the streaks, modulo 180)."""
    return float(json.loads((Path(data) / "gt/scene.json").read_text())["degradation"]["angle_deg"])


def rain_angle_error_deg(estimate_rad: Optional[float], data: Path) -> float:
    """Undirected difference (degrees) between an estimate (radians) and the true angle; nan without an estimate."""
    if estimate_rad is None:
        return float("nan")
    return math.degrees(angle_difference(estimate_rad, math.radians(true_rain_angle_deg(data))))


def true_rain(data: Path, stem: str) -> torch.Tensor:
    """The additive rain R_true = Y - B [H, W, 3] of training view ``stem``: gt/rain minus gt/rain_dark where that
    exists."""
    rain = load_rgb(Path(data) / f"gt/rain/{stem}.png")
    dark = Path(data) / f"gt/rain_dark/{stem}.png"
    return rain - load_rgb(dark) if dark.is_file() else rain


def rain_layer_error(pipeline, data: Path, views: Optional[TrainViews] = None) -> Dict[str, float]:
    """Mean |R - R_true| of the rain taken out of the training photos (``photo_rain_layers``, what
    ``ns-rainyscape-derain`` writes; a run without a rain layer: R = 0), and mean |R_true| (the error of R = 0)."""
    stems = train_stems(pipeline)
    truth = [true_rain(Path(data), s) for s in stems]
    views = render_train_views(pipeline) if views is None else views
    if any(rain is None for _, rain in views):
        predicted = [torch.zeros_like(t) for t in truth]
    else:
        predicted = photo_rain_layers(pipeline, views)
    return {
        "rain_l1": float(np.mean([float((p - t).abs().mean()) for p, t in zip(predicted, truth)])),
        "zero_rain_l1": float(np.mean([float(t.abs().mean()) for t in truth])),
    }
