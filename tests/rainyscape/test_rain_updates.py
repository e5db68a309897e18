"""Extra M-step updates of the rain net per training step (``rain_updates``): the view index reaches
the loss through the outputs, and an after-step callback steps the trainer's own rain optimizers to
fit that view's rain to its residual with B fixed."""

from __future__ import annotations

from typing import cast

import torch
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.engine.callbacks import TrainingCallbackAttributes, TrainingCallbackLocation
from nerfstudio.engine.optimizers import AdamOptimizerConfig, Optimizers

from ns_plugins.rainyscape.datamanager import CAMERA_CODES_KEY, IMAGE_SIZE_KEY
from ns_plugins.rainyscape.model import RAIN_OPTIMIZERS, RAIN_VIEW_KEY, RainFitInputs, RainyScapeModelConfig
from ns_plugins.rainyscape.rain_predictor import RainPredictorConfig

SIZE = 16


def make_model(rain_updates: int, background_noise: bool = False):
    torch.manual_seed(0)
    xyz = (torch.rand(50, 3) - 0.5) * 1.2
    rgb = (torch.rand(50, 3) * 255).to(torch.uint8)
    config = RainyScapeModelConfig(
        predictor=RainPredictorConfig(latent_size=16, state_size=8, state_features=16, rain_features=2),
        run_steps=100,
        rain_updates=rain_updates,
        langevin_steps=0,
        num_downscales=0,
        sh_degree=0,
        background_noise=background_noise,
    )
    metadata = {IMAGE_SIZE_KEY: (SIZE, SIZE), CAMERA_CODES_KEY: torch.randn(3, 16)}
    model = config.setup(
        scene_box=SceneBox(torch.tensor([[-1.0] * 3, [1.0] * 3])),
        num_train_data=3,
        metadata=metadata,
        seed_points=(xyz, rgb),
    )
    model.train()
    return model


def rain_optimizers(model) -> Optimizers:
    """The trainer's optimizers for the rain net's parameter groups (nerfstudio's own class)."""
    groups = model.get_param_groups()
    config = {name: {"optimizer": AdamOptimizerConfig(lr=1e-3), "scheduler": None} for name in RAIN_OPTIMIZERS}
    return Optimizers(config, {name: groups[name] for name in RAIN_OPTIMIZERS})


def view_loss(model, view: int, rainy: torch.Tensor, clean: torch.Tensor) -> float:
    with torch.no_grad():
        return float(sum(model.rain_loss_terms(rainy, clean, model.predict_rain(view, SIZE, SIZE), None).values()))


def test_after_step_callback_fits_the_view_rain_with_the_trainer_optimizers() -> None:
    model = make_model(rain_updates=9)
    optimizers = rain_optimizers(model)
    callbacks = model.get_training_callbacks(
        TrainingCallbackAttributes(optimizers=optimizers, grad_scaler=None, pipeline=None, trainer=None)
    )
    after = [c for c in callbacks if c.func == model.after_train_step]
    assert len(after) == 1 and after[0].where_to_run == [TrainingCallbackLocation.AFTER_TRAIN_ITERATION]
    clean = torch.rand(SIZE, SIZE, 3) * 0.5
    rain = torch.zeros(SIZE, SIZE, 3)
    rain[:, 5] = rain[:, 11] = 0.4  # two vertical streaks
    rainy = clean + rain
    before = view_loss(model, 1, rainy, clean)
    weights = model.predictor.generator.to_map.weight.detach().clone()
    after[0].run_callback_at_location(10, TrainingCallbackLocation.AFTER_TRAIN_ITERATION)
    assert torch.equal(model.predictor.generator.to_map.weight, weights)  # no step's inputs pending: nothing done
    steps = []
    for optimizer in optimizers.optimizers.values():
        optimizer.step = (lambda step: lambda *a, **k: steps.append(1) or step(*a, **k))(optimizer.step)
    model.pending_rain_fit = RainFitInputs(1, rainy, clean, None)
    after[0].run_callback_at_location(11, TrainingCallbackLocation.AFTER_TRAIN_ITERATION)
    assert model.pending_rain_fit is None  # consumed
    assert len(steps) == 2 * 8  # rain_updates - 1 steps of each of the trainer's rain optimizers
    assert view_loss(model, 1, rainy, clean) < 0.95 * before  # the fit moved towards this view's rain
    assert all(p.grad is None for p in model.predictor.parameters())  # the next step starts from clean gradients
    assert not torch.equal(model.predictor.generator.to_map.weight, weights)
    assert not model.predictor.latents.weight.requires_grad  # the latents still move in the E-step only
    assert optimizers.optimizers["rain_generator"].state_dict()["state"]  # Adam state the trainer checkpoints


def stage2_camera():
    from nerfstudio.cameras.cameras import Cameras

    c2w = torch.eye(4)[:3].clone()
    c2w[2, 3] = 3.0  # looking at the seed points down -z
    return Cameras(
        camera_to_worlds=c2w[None],
        fx=14.0,
        fy=14.0,
        cx=SIZE / 2,
        cy=SIZE / 2,
        width=SIZE,
        height=SIZE,
        metadata={"cam_idx": 2},
    )


def test_view_reaches_the_loss_through_the_outputs() -> None:
    model = make_model(rain_updates=3)
    model.optimizers = rain_optimizers(model).optimizers  # what splatfacto's before-step callback hands the strategy
    model.step = 50  # stage 2
    outputs = model(stage2_camera())
    assert outputs[RAIN_VIEW_KEY].tolist() == [2]
    batch = {"image": torch.rand(SIZE, SIZE, 3)}
    loss_dict = model.get_loss_dict(outputs, batch)
    assert model.pending_rain_fit is not None and model.pending_rain_fit.view == 2
    assert not model.pending_rain_fit.clean.requires_grad
    cast(torch.Tensor, sum(loss_dict.values())).backward()
    assert model.predictor.generator.to_map.weight.grad is not None  # the joint step trains the rain net too
    del outputs[RAIN_VIEW_KEY]  # a render that is no training view: no rain fit after the step
    model.get_loss_dict(outputs, batch)
    assert model.pending_rain_fit is None


def test_rain_state_is_in_the_model_state_dict() -> None:
    """What a resumed run needs besides the trainer's optimizers: latents, scene state, running angle."""
    keys = set(make_model(rain_updates=2).state_dict())
    assert {"predictor.latents.weight", "predictor.state", "rain_angle_state"} <= keys


def test_with_background_noise_the_rain_net_sees_the_render_over_grey() -> None:
    model = make_model(rain_updates=3, background_noise=True)
    model.optimizers = rain_optimizers(model).optimizers
    model.step = 50
    outputs = model(stage2_camera())
    alpha = outputs["accumulation"].detach()
    assert float((1 - alpha).mean()) > 0.1  # part of the view is background
    model.get_loss_dict(outputs, {"image": torch.rand(SIZE, SIZE, 3)})
    assert model.pending_rain_fit is not None
    # the Gaussians' render shows per-pixel noise where uncovered; the rain net's B shows 0.5 there
    grey = (outputs["rgb"].detach() + (1 - alpha) * (0.5 - outputs["background"])).clamp(0, 1)
    assert torch.allclose(model.pending_rain_fit.clean, grey)
    uncovered = (alpha < 0.01).expand_as(grey)
    assert bool(uncovered.any()) and torch.allclose(grey[uncovered], torch.full_like(grey[uncovered], 0.5), atol=0.01)
