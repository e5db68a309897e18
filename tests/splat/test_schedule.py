"""Run-length schedule: unset fields derived, set fields used as given, the result logged and saved."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import cast

import pytest
import torch
import tyro
import yaml
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.models.splatfacto import SplatfactoModelConfig

from ns_plugins.data.errors import DataError
from ns_plugins.data.synth_cli import generate_dataset
from ns_plugins.splat.config import splatfacto_portable
from ns_plugins.splat.model import PortableSplatModelConfig
from ns_plugins.splat.schedule import SCHEDULE_FIELDS, scaled_schedule
from tests.cli import run, train_args


def cli(*args: str):
    return tyro.cli(type(splatfacto_portable.config), default=splatfacto_portable.config, args=list(args))


def build(config: PortableSplatModelConfig, num_train: int = 4):
    torch.manual_seed(0)
    xyz, rgb = torch.randn(50, 3) * 0.3, torch.randint(0, 256, (50, 3), dtype=torch.uint8)
    box = SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3]))
    return config.setup(scene_box=box, num_train_data=num_train, seed_points=(xyz, rgb))


def test_full_length_schedule_is_splatfacto_default() -> None:
    defaults = SplatfactoModelConfig()
    schedule = scaled_schedule(30000, num_train_images=100)
    assert set(schedule) == set(SCHEDULE_FIELDS)
    for name, value in schedule.items():
        assert getattr(defaults, name) == value, name


def test_short_schedule_leaves_room_to_refine_between_resets() -> None:
    for steps in (200, 300, 1500, 5000):
        for num_train in (4, 24, 80):
            s = scaled_schedule(steps, num_train)
            reset_steps = s["reset_alpha_every"] * s["refine_every"]
            pause = num_train + s["refine_every"]  # splatfacto's pause after a reset
            assert reset_steps - pause >= 5 * s["refine_every"], (steps, num_train, s)
            assert s["warmup_length"] < s["stop_split_at"] < steps


def test_set_values_are_kept_and_the_derived_ones_follow_them() -> None:
    derived = scaled_schedule(300, 4)
    s = scaled_schedule(300, 4, {"refine_every": 7, "stop_split_at": 250, "warmup_length": None})
    assert s["refine_every"] == 7 and s["stop_split_at"] == 250
    assert s["reset_alpha_every"] * 7 >= 5 * 7 + 4 + 7  # counted in rounds of 7 steps, not of the derived 10
    assert s["sh_degree_interval"] == derived["sh_degree_interval"]
    with pytest.raises(DataError, match="--pipeline.model.refine-every: must be at least 1"):
        scaled_schedule(300, 4, {"refine_every": 0})


def test_model_uses_set_values_and_fills_a_copy() -> None:
    config = PortableSplatModelConfig(rasterizer_backend="torch", refine_every=7, run_steps=300)
    model = build(config)
    assert model.strategy.refine_every == 7 and model.config.refine_every == 7
    assert model.config.warmup_length == scaled_schedule(300, 4, {"refine_every": 7})["warmup_length"]
    assert model.strategy.refine_start_iter == model.config.warmup_length
    assert config.warmup_length is None  # the caller's config is not filled in
    # nothing set and no run length: splatfacto's own numbers
    plain = build(PortableSplatModelConfig(rasterizer_backend="torch"))
    assert all(getattr(plain.config, n) == getattr(SplatfactoModelConfig(), n) for n in SCHEDULE_FIELDS)


def test_cli_records_the_run_length_and_scales_lr_decay() -> None:
    config = cli("--max-num-iterations", "300", "--pipeline.model.refine-every", "7")
    model_config = cast(PortableSplatModelConfig, config.pipeline.model)
    assert model_config.run_steps == 300 and model_config.refine_every == 7
    assert model_config.warmup_length is None
    assert config.optimizers["means"]["scheduler"].max_steps == 300
    assert config.optimizers["camera_opt"]["scheduler"].warmup_steps == 10
    # the registered default is left untouched
    assert splatfacto_portable.config.optimizers["means"]["scheduler"].max_steps == 30000
    assert cast(PortableSplatModelConfig, splatfacto_portable.config.pipeline.model).refine_every is None
    assert cast(PortableSplatModelConfig, cli().pipeline.model).run_steps == 30000


def test_lr_decay_scaling_has_its_own_switch_and_keeps_a_set_length() -> None:
    config = dataclasses.replace(splatfacto_portable.config, scale_lr_decay_to_run=False, max_num_iterations=500)
    assert config.optimizers["means"]["scheduler"].max_steps == 30000
    config = cli("--max-num-iterations", "300", "--optimizers.means.scheduler.max-steps", "1000")
    assert config.optimizers["means"]["scheduler"].max_steps == 1000
    assert config.optimizers["camera_opt"]["scheduler"].max_steps == 300


def test_help_shows_no_option_that_is_always_replaced(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        cli("--help")  # what `ns-train splatfacto-portable --help` prints
    shown = capsys.readouterr().out
    assert "--pipeline.model.refine-every" in shown and "--scale-lr-decay-to-run" in shown
    assert "run-steps" not in shown and "scale-schedule-to-run" not in shown


def test_ns_train_uses_and_records_an_explicit_flag(tmp_path: Path) -> None:
    data = generate_dataset(tmp_path / "data", seed=1, num_train=4, num_test=1, width=24, height=24)
    proc = run(
        *train_args("splatfacto-portable", data, tmp_path / "out", "s", 30, "--pipeline.model.refine-every", 7),
        cwd=tmp_path,
    )
    logged = [line for line in proc.stdout.splitlines() if line.startswith("Step schedule")]
    assert len(logged) == 1 and "refine_every=7 (set)" in logged[0]
    saved = yaml.load(next(tmp_path.glob("out/s/*/t/config.yml")).read_text(), Loader=yaml.Loader).pipeline.model
    expected = scaled_schedule(30, 4, {"refine_every": 7})
    assert {n: getattr(saved, n) for n in SCHEDULE_FIELDS} == expected and saved.refine_every == 7
