"""rainyscape through nerfstudio's own commands on a tiny rainy scene (CPU): ns-train (CLI) ->
ns-render (clean scene) -> ns-rainyscape-derain (their code in-process), the model's outputs for training and held-out
cameras, and a stage-1 schedule that ends after the run, or a rain map of no channels, stopping with a one-line
error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
import torch

from ns_plugins.splat.native_libs import venv_env

if TYPE_CHECKING:
    from ns_plugins.rainyscape.model import RainyScapeModel
from tests.cli import run, train_args

STEPS = 60


@pytest.fixture(scope="module")
def trained(rainy_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("rainyscape_e2e")
    run(
        *train_args(
            "rainyscape-small", rainy_dataset, root / "outputs", "e2e", STEPS, "--steps-per-eval-all-images", 100000
        ),
        cwd=root,
    )
    return {"root": root, "data": rainy_dataset, "config": next((root / "outputs").glob("e2e/*/t/config.yml"))}


def test_outputs_rain_for_training_cameras_only(trained: dict) -> None:
    from ns_plugins.splat.evaluate import load_trained_pipeline

    pipeline, step = load_trained_pipeline(trained["config"])
    model = cast("RainyScapeModel", pipeline.model)
    assert model.in_stage2(step) and model.rain_angle() is not None  # stage 2 ran and estimated an angle
    train_dataset, eval_dataset = pipeline.datamanager.train_dataset, pipeline.datamanager.eval_dataset
    assert train_dataset is not None and eval_dataset is not None
    train_cam = train_dataset.cameras[3:4]
    outputs = model.get_outputs_for_camera(train_cam)
    assert {"rgb", "rain", "rainy"} <= set(outputs)
    assert outputs["rain"].shape == (32, 32, 3) and float(outputs["rain"].min()) >= 0
    assert float(outputs["rain"].max()) > 0  # the rain layer is not dead
    assert torch.allclose(outputs["rainy"], (outputs["rgb"] + outputs["rain"]).clamp(0, 1))
    test_cam = eval_dataset.cameras[0:1]
    held_out = model.get_outputs_for_camera(test_cam)
    assert float(held_out["rain"].abs().max()) == 0.0  # no rain for a camera that is not a training view


def test_render_writes_clean_video(trained: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """ns-render's own code, run in-process (a second CLI start-up would cost more than the render), with
    the venv's commands on PATH as ``ns-render`` has them (it looks for ``ffmpeg`` there)."""
    from nerfstudio.scripts.render import RenderInterpolated

    monkeypatch.setenv("PATH", venv_env()["PATH"])
    video = trained["root"] / "clean.mp4"
    RenderInterpolated(
        load_config=trained["config"], output_path=video, interpolation_steps=2, pose_source="train"
    ).main()
    assert video.stat().st_size > 1000


def test_derain_writes_training_images_and_rain(trained: dict, capsys: pytest.CaptureFixture) -> None:
    from ns_plugins.data.errors import DataError
    from ns_plugins.rainyscape.derain_cli import DerainArgs, main
    from ns_plugins.rainyscape.evaluation import load_rgb

    out = trained["root"] / "derained"
    main(DerainArgs(load_config=trained["config"], output_dir=out))
    # the scene's rain angle is said, so a user can check it against the streaks in the photos
    assert re.search(r"^rain angle: \d+\.\d deg", capsys.readouterr().out, re.M)
    train_stems = sorted(p.stem for p in (trained["data"] / "gt/rain").glob("*.png"))
    assert sorted(p.stem for p in out.glob("*.png")) == train_stems
    assert sorted(p.stem for p in (out / "rain").glob("*.png")) == train_stems
    assert sorted(p.stem for p in (out / "photo").glob("*.png")) == train_stems
    # the photo without its rain is the training photo minus the layer written beside it, lifted only towards
    # the render written beside it (its dark streaks; 8-bit rounding apart)
    stem = train_stems[0]
    photo, rain, rainy, render = (
        load_rgb(p)
        for p in (
            out / f"photo/{stem}.png",
            out / f"rain/{stem}.png",
            trained["data"] / f"images/{stem}.png",
            out / f"{stem}.png",
        )
    )
    minus_rain = (rainy - rain).clamp(0, 1)
    assert float((minus_rain - photo).max()) <= 2.5 / 255
    assert float((photo - torch.maximum(minus_rain, render)).max()) <= 2.5 / 255
    assert float((photo - rainy).abs().mean()) > 0  # something was taken out
    # an even streak width is one line naming the flag, before the run is loaded
    with pytest.raises(DataError, match="--streak-width: must be an odd number of pixels, got 4"):
        main(DerainArgs(load_config=trained["config"], output_dir=out, streak_width=4))


def test_derain_takes_out_rain_only_where_the_photo_can_hold_it(trained: dict, tmp_path: Path) -> None:
    """photo/ and rain/ take out the predicted layer clamped to each photo's top-hats with the run's bound (the
    one its Gaussians trained with); --rain-bound-fraction 0 takes out the layer as predicted."""
    from ns_plugins.data.errors import DataError
    from ns_plugins.rainyscape.derain_cli import DerainArgs, main
    from ns_plugins.rainyscape.evaluation import (
        load_rgb,
        photo_rain_layers,
        render_train_views,
        train_photos,
        train_stems,
    )
    from ns_plugins.rainyscape.rain_bound import bound_size, top_hats
    from ns_plugins.splat.evaluate import load_trained_pipeline

    pipeline, _ = load_trained_pipeline(trained["config"])
    fraction = cast("RainyScapeModel", pipeline.model).config.rain_bound_fraction
    assert fraction == 0.1  # the preset's
    views = render_train_views(pipeline)
    predicted = [cast(torch.Tensor, rain) for _, rain in views]
    bounded = photo_rain_layers(pipeline, views)
    for rain, taken, photo in zip(predicted, bounded, train_photos(pipeline)):
        white, black = top_hats(photo, bound_size(0.1, photo.shape[1]))
        assert bool((taken <= white + 1e-6).all() and (taken >= -black - 1e-6).all())
        assert torch.equal(taken, torch.minimum(torch.maximum(rain, -black), white))
    # the layer as predicted: rain/ holds the model's own output (8-bit rounding apart)
    out = tmp_path / "unbounded"
    main(DerainArgs(load_config=trained["config"], output_dir=out, photo=False, rain_bound_fraction=0.0))
    stem = train_stems(pipeline)[0]
    assert float((load_rgb(out / f"rain/{stem}.png") - predicted[0].clamp(0, 1)).abs().max()) <= 1 / 255
    with pytest.raises(DataError, match="--rain-bound-fraction: must be a share of the image width in"):
        main(DerainArgs(load_config=trained["config"], output_dir=out, rain_bound_fraction=1.5))


def test_darkening_flag_trains_a_signed_layer_and_derain_writes_both(
    rainy_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from ns_plugins.rainyscape.derain_cli import DerainArgs, main
    from ns_plugins.splat.evaluate import load_trained_pipeline

    extra = ("--pipeline.model.predictor.darkening", "True", "--steps-per-eval-all-images", 100000)
    run(*train_args("rainyscape-small", rainy_dataset, tmp_path / "outputs", "dark", 30, *extra), cwd=tmp_path)
    config = next((tmp_path / "outputs").glob("dark/*/t/config.yml"))
    pipeline, _ = load_trained_pipeline(config)
    model = cast("RainyScapeModel", pipeline.model)
    assert model.config.predictor.darkening and model.predictor.generator.body[-2].out_channels == 6
    out = tmp_path / "derained"
    main(DerainArgs(load_config=config, output_dir=out))
    assert "darkening layers in" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "rain_dark").glob("*.png")) == sorted(
        p.name for p in (out / "rain").glob("*.png")
    )


def test_stage1_after_the_run_is_an_error(trained: dict) -> None:
    """Set up the trained run's pipeline again with stage 1 ending after the run (in-process: no CLI start-up)."""
    import yaml

    from ns_plugins.data.errors import DataError

    config = yaml.load(trained["config"].read_text(), Loader=yaml.Loader)
    config.pipeline.model.stage1_steps = 2 * STEPS
    with pytest.raises(DataError) as err:
        config.pipeline.setup(device="cpu", test_mode="test")
    assert f"stage 1 ends at step {2 * STEPS}, not before the run's {STEPS} steps" in str(err.value)
    assert str(err.value).startswith("error: --pipeline.model.stage1-steps:") and "\n" not in str(err.value)


def test_map_channels_below_one_is_an_error(trained: dict) -> None:
    import yaml

    from ns_plugins.data.errors import DataError

    config = yaml.load(trained["config"].read_text(), Loader=yaml.Loader)
    config.pipeline.model.predictor.map_channels = 0
    with pytest.raises(DataError) as err:
        config.pipeline.setup(device="cpu", test_mode="test")
    assert str(err.value) == "error: --pipeline.model.predictor.map-channels: must be 1 or more, got 0"


def test_rain_bound_fraction_outside_zero_one_is_an_error(trained: dict) -> None:
    import yaml

    from ns_plugins.data.errors import DataError

    config = yaml.load(trained["config"].read_text(), Loader=yaml.Loader)
    config.pipeline.model.rain_bound_fraction = 0.0
    with pytest.raises(DataError) as err:
        config.pipeline.setup(device="cpu", test_mode="test")
    assert str(err.value) == "error: --pipeline.model.rain-bound-fraction: must be in (0, 1], got 0.0"


def test_gaussians_see_the_clamped_rain_and_a_normalised_loss(trained: dict) -> None:
    """Stage-2 loss on a smooth rainy image (a clear sky) and a B 0.2 too dark: a rain layer of 0.2 explains
    the offset away unbounded, and is invisible to the Gaussians with the bound; the normalised loss is the
    authors' divided by 1 + 0.8 w."""
    import yaml

    config = yaml.load(trained["config"].read_text(), Loader=yaml.Loader)
    model = cast("RainyScapeModel", config.pipeline.setup(device="cpu", test_mode="test").model)
    model.train()
    h, w = 24, 32
    rainy = torch.linspace(0.6, 0.9, h)[:, None, None].expand(h, w, 3).contiguous()
    clean = (rainy - 0.2).requires_grad_()
    rain = torch.full((h, w, 3), 0.2)  # where the photo shows no rain
    outputs = {"rgb": clean, "rain": rain, "background": torch.zeros(3), "rain_view": torch.tensor([0])}
    outputs["accumulation"] = torch.ones(h, w, 1)  # fully covered: the rain net sees B as it is
    batch = {"image": (rainy * 255).to(torch.uint8)}

    def gaussian_loss(**settings) -> float:
        for key, value in settings.items():
            setattr(model.config, key, value)
        losses = model.get_loss_dict(outputs, batch)
        return float(losses["main_loss"] + losses["clean_l1"])

    plain = gaussian_loss(rain_bound_fraction=None, normalise_gaussian_loss=False)
    bounded = gaussian_loss(rain_bound_fraction=0.1, normalise_gaussian_loss=False)
    assert bounded > plain + 0.1  # the rain layer no longer hides B's error from the Gaussians
    normalised = gaussian_loss(rain_bound_fraction=0.1, normalise_gaussian_loss=True)
    assert normalised == pytest.approx(bounded / (1 + 0.8 * model.config.clean_l1_weight), rel=1e-5)
