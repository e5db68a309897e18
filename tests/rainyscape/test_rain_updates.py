"""Extra M-step updates of the rain net per training step (``rain_updates``): they step the rain
optimizers the trainer handed over, fit this view's rain to its residual with B fixed, and the
joint step's loss then uses the refreshed rain layer."""

from __future__ import annotations

import torch
from nerfstudio.data.scene_box import SceneBox

from ns_plugins.rainyscape.datamanager import CAMERA_CODES_KEY, IMAGE_SIZE_KEY
from ns_plugins.rainyscape.model import RainyScapeModelConfig
from ns_plugins.rainyscape.rain_predictor import RainPredictorConfig

SIZE = 16


def make_model(rain_updates: int):
    torch.manual_seed(0)
    xyz = (torch.rand(50, 3) - 0.5) * 1.2
    rgb = (torch.rand(50, 3) * 255).to(torch.uint8)
    config = RainyScapeModelConfig(
        predictor=RainPredictorConfig(latent_size=16, state_size=8, state_features=16, rain_features=2),
        run_steps=100, rain_updates=rain_updates, langevin_steps=0, num_downscales=0, sh_degree=0,
    )
    metadata = {IMAGE_SIZE_KEY: (SIZE, SIZE), CAMERA_CODES_KEY: torch.randn(3, 16)}
    model = config.setup(scene_box=SceneBox(torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=3, metadata=metadata, seed_points=(xyz, rgb))
    model.train()
    return model


def rain_optimizers(model) -> dict:
    groups = model.get_param_groups()
    return {name: torch.optim.Adam(groups[name], lr=1e-3, betas=(0.5, 0.999)) for name in ("rain_state_net", "rain_generator")}


def view_loss(model, view: int, rainy: torch.Tensor, clean: torch.Tensor) -> float:
    with torch.no_grad():
        return float(sum(model.rain_loss_terms(rainy, clean, model.predict_rain(view, SIZE, SIZE), None).values()))


def test_extra_updates_fit_the_view_rain_with_the_trainer_optimizers() -> None:
    model = make_model(rain_updates=9)
    clean = torch.rand(SIZE, SIZE, 3) * 0.5
    rain = torch.zeros(SIZE, SIZE, 3)
    rain[:, 5] = rain[:, 11] = 0.4  # two vertical streaks
    rainy = clean + rain
    before = view_loss(model, 1, rainy, clean)
    weights = model.predictor.generator.to_map.weight.detach().clone()
    assert not model.fit_rain(1, rainy, clean, None)  # no optimizers handed over (e.g. outside the trainer): nothing done
    assert torch.equal(model.predictor.generator.to_map.weight, weights)
    model.optimizers = rain_optimizers(model)
    steps = []
    for optimizer in model.optimizers.values():
        optimizer.step = (lambda step: lambda *a, **k: steps.append(1) or step(*a, **k))(optimizer.step)
    assert model.fit_rain(1, rainy, clean, None)
    assert len(steps) == 2 * 8  # rain_updates - 1 steps of each rain optimizer
    assert view_loss(model, 1, rainy, clean) < 0.95 * before  # the fit moved towards this view's rain
    assert all(p.grad is None for p in model.predictor.parameters())  # the joint step starts from clean gradients
    assert not torch.equal(model.predictor.generator.to_map.weight, weights)
    assert not model.predictor.latents.weight.requires_grad  # the latents still move in the E-step only


def test_joint_step_uses_the_refreshed_rain_and_backpropagates() -> None:
    from nerfstudio.cameras.cameras import Cameras

    model = make_model(rain_updates=3)
    model.optimizers = rain_optimizers(model)
    model.step = 50  # stage 2
    c2w = torch.eye(4)[:3].clone()
    c2w[2, 3] = 3.0  # looking at the seed points down -z
    camera = Cameras(camera_to_worlds=c2w[None], fx=14.0, fy=14.0, cx=SIZE / 2, cy=SIZE / 2, width=SIZE, height=SIZE, metadata={"cam_idx": 2})
    outputs = model(camera)
    first_rain = outputs["rain"].detach().clone()
    batch = {"image": torch.rand(SIZE, SIZE, 3)}
    loss_dict = model.get_loss_dict(outputs, batch)
    assert not torch.equal(outputs["rain"].detach(), first_rain)  # predicted again after the extra updates
    sum(loss_dict.values()).backward()  # the graph is the refreshed rain's (no in-place-modified parameters in it)
    assert model.predictor.generator.to_map.weight.grad is not None
