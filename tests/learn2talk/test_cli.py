"""``ns-l2t``'s one training config: the preset fills the defaults, any flag given is the value used."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.cli import parse
from ns_plugins.learn2talk.talking_head.train import PRESETS, TrainConfig, check_losses


def test_train_parses_the_config_itself() -> None:
    cfg = parse(
        [
            "train",
            "--data",
            "d",
            "--output",
            "o",
            "--preset",
            "tiny",
            "--steps",
            "7",
            "--losses",
            "vertex,sync",
            "teacher",
        ]
    )
    assert isinstance(cfg, TrainConfig) and (cfg.data, cfg.output) == (Path("d"), Path("o"))
    assert cfg.steps == 7  # given: used, although the preset says otherwise
    assert (cfg.d_model, cfg.syncnet_steps) == (
        PRESETS["tiny"].d_model,
        PRESETS["tiny"].syncnet_steps,
    )  # not given: the preset's
    assert cfg.loss_names == ("vertex", "sync", "teacher")
    assert cfg.weights == {"vertex": 1.0, "velocity": 0.0, "sync": 1e-4, "teacher": 1e-5}
    default = parse(["train", "--data", "d", "--output", "o", "--weight-sync", "0.5"])
    assert isinstance(default, TrainConfig)
    assert default.preset == "cpu" and default.steps == PRESETS["cpu"].steps and default.weight_sync == 0.5


def test_train_needs_data_and_output_and_known_names(capsys) -> None:
    with pytest.raises(SystemExit):
        parse(["train", "--output", "o"])  # no --data: tyro's usage error, nothing silently defaulted
    with pytest.raises(DataError, match="--preset: unknown preset 'huge'"):
        parse(["train", "--data", "d", "--output", "o", "--preset", "huge"])
    with pytest.raises(DataError, match="--losses: unknown loss"):
        check_losses(cast(TrainConfig, parse(["train", "--data", "d", "--output", "o", "--losses", "vertex,lips"])))
    with pytest.raises(DataError, match="the vertex loss is required"):
        check_losses(cast(TrainConfig, parse(["train", "--data", "d", "--output", "o", "--losses", "sync"])))
