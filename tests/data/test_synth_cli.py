"""ns-plugins-synth and the degradation hook."""

import json
import sys
import time
from typing import Any, Dict

import numpy as np
import pytest
from PIL import Image

from ns_plugins.data import writer
from ns_plugins.data.degradation import (
    DegradationContext,
    DegradationResult,
    available_degradations,
    get_degradation,
    register_degradation,
    unregister_degradation,
)
from ns_plugins.data.errors import DataError
from ns_plugins.data.synth_cli import SynthArgs, entrypoint, generate_dataset, main

SMALL: Dict[str, Any] = dict(num_train=4, num_test=2, width=24, height=24, num_seed_points=300)


def _read(path):
    return np.asarray(Image.open(path))


def test_cli_writes_dataset(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli"
    argv = [
        "ns-plugins-synth",
        "--out",
        str(out),
        "--seed",
        "2",
        "--num-train",
        "4",
        "--num-test",
        "2",
        "--width",
        "24",
        "--height",
        "16",
        "--num-objects",
        "3",
        "--num-seed-points",
        "200",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    entrypoint()
    assert "wrote" in capsys.readouterr().out
    meta = json.loads((out / "transforms.json").read_text())
    assert len(meta["frames"]) == 6 and (meta["w"], meta["h"]) == (24, 16)
    scene = json.loads((out / "gt/scene.json").read_text())
    assert len(scene["scene"]["objects"]) == 3 and scene["params"]["num_objects"] == 3


def test_refuses_non_empty_folder_and_overwrites_its_own(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        generate_dataset(foreign, **SMALL)
    assert (foreign / "precious.txt").exists()
    with pytest.raises(DataError):
        generate_dataset(foreign, overwrite=True, **SMALL)  # not ours: never deleted

    ours = generate_dataset(tmp_path / "ours", seed=0, **SMALL)
    with pytest.raises(DataError, match="overwrite"):
        generate_dataset(ours, seed=1, **SMALL)
    generate_dataset(ours, seed=1, overwrite=True, **SMALL)
    assert json.loads((ours / "gt/scene.json").read_text())["seed"] == 1


def test_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="unknown degradation 'nope'"):
        generate_dataset(tmp_path / "a", degradation="nope", **SMALL)
    assert not (tmp_path / "a").exists()  # checked before anything is written
    with pytest.raises(DataError, match="degradation-options"):
        main(SynthArgs(out=tmp_path / "b", degradation_options="{oops"))


class InvertTraining:
    """A test degradation: inverts training images, writes segments, adds json keys."""

    def __call__(self, ctx: DegradationContext) -> DegradationResult:
        images, frames = {}, {}
        for i in ctx.train_indices:
            stem = ctx.stems[i]
            images[stem] = 1.0 - ctx.clean[i]["rgb"] * ctx.options.get("gain", 1.0)
            writer.write_uint16_png(ctx.out_dir / "segments" / f"{stem}.png", ctx.clean[i]["instance"])
            frames[stem] = {"segments_path": f"segments/{stem}.png"}
        rerender = ctx.render_camera(ctx.cameras[0])  # the renderer reproduces the clean view
        assert np.array_equal(rerender["rgb"], ctx.clean[0]["rgb"])
        return DegradationResult(
            images=images,
            transforms={"inverted": True},
            frames=frames,
            ground_truth={"draw": float(ctx.rng.uniform())},
        )


def test_runtime_degradation_changes_training_images_and_keeps_clean(tmp_path):
    register_degradation("invert-test", InvertTraining)
    try:
        assert "invert-test" in available_degradations() and "none" in available_degradations()
        out = generate_dataset(tmp_path / "inv", degradation="invert-test", degradation_options={"gain": 1.0}, **SMALL)
    finally:
        unregister_degradation("invert-test")
    assert "invert-test" not in available_degradations()
    meta = json.loads((out / "transforms.json").read_text())
    assert meta["inverted"] is True
    train = {f.split("/")[-1][:-4] for f in meta["train_filenames"]}
    for frame in meta["frames"]:
        stem = frame["file_path"].split("/")[-1][:-4]
        image, clean = _read(out / frame["file_path"]).astype(int), _read(out / "gt/clean" / f"{stem}.png").astype(int)
        if stem in train:
            assert np.abs(image - (255 - clean)).max() <= 1  # degraded, clean kept under gt/clean
            assert frame["segments_path"] == f"segments/{stem}.png"
            assert np.array_equal(
                writer.read_uint16_png(out / frame["segments_path"]),
                writer.read_uint16_png(out / "gt/instance" / f"{stem}.png"),
            )
        else:
            assert np.array_equal(image, clean) and "segments_path" not in frame
    gt = json.loads((out / "gt/scene.json").read_text())["degradation"]
    assert gt["name"] == "invert-test" and gt["options"] == {"gain": 1.0} and 0 <= gt["draw"] < 1


def test_get_degradation():
    # these two degradations do not read their context: None stands in for it
    assert get_degradation("none")(None) == DegradationResult()  # pyright: ignore[reportArgumentType]
    register_degradation("fn-test", lambda ctx: DegradationResult())
    try:
        assert get_degradation("fn-test")(None) == DegradationResult()  # pyright: ignore[reportArgumentType]
    finally:
        unregister_degradation("fn-test")
    with pytest.raises(DataError):
        get_degradation("fn-test")


def test_generation_speed(tmp_path):
    start = time.perf_counter()
    generate_dataset(tmp_path / "speed", num_train=24, num_test=8, width=64, height=64)
    assert time.perf_counter() - start < 15.0  # ~1 s here
