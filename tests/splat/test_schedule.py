"""Run-length schedule and the trainer config that applies it."""

from __future__ import annotations

import dataclasses

import tyro
from nerfstudio.models.splatfacto import SplatfactoModelConfig

from ns_plugins.splat.config import splatfacto_portable
from ns_plugins.splat.schedule import scaled_schedule


def test_full_length_schedule_is_splatfacto_default() -> None:
    defaults = SplatfactoModelConfig()
    for name, value in scaled_schedule(30000, num_train_images=100).items():
        assert getattr(defaults, name) == value, name


def test_short_schedule_leaves_room_to_refine_between_resets() -> None:
    for steps in (200, 300, 1500, 5000):
        for num_train in (4, 24, 80):
            s = scaled_schedule(steps, num_train)
            reset_steps = s["reset_alpha_every"] * s["refine_every"]
            pause = num_train + s["refine_every"]  # splatfacto's pause after a reset
            assert reset_steps - pause >= 5 * s["refine_every"], (steps, num_train, s)
            assert s["warmup_length"] < s["stop_split_at"] < steps


def test_cli_fills_run_steps_and_scales_lr_decay() -> None:
    config = tyro.cli(type(splatfacto_portable.config), default=splatfacto_portable.config, args=["--max-num-iterations", "300"])
    assert config.pipeline.model.run_steps == 300
    assert config.optimizers["means"]["scheduler"].max_steps == 300
    assert config.optimizers["camera_opt"]["scheduler"].warmup_steps == 10
    # the registered default is left untouched
    assert splatfacto_portable.config.optimizers["means"]["scheduler"].max_steps == 30000
    again = tyro.cli(type(splatfacto_portable.config), default=splatfacto_portable.config, args=[])
    assert again.pipeline.model.run_steps == 30000


def test_schedule_scaling_can_be_turned_off() -> None:
    config = dataclasses.replace(splatfacto_portable.config, scale_schedule_to_run=False, max_num_iterations=500)
    assert config.pipeline.model.run_steps is None
    assert config.machine.device_type in ("cpu", "cuda")
