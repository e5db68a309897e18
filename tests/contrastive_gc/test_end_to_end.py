"""ns-train contrastive-gc-small -> ns-cgc-segment -> ns-export gaussian-splat, on CPU, tiny scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from plyfile import PlyData

from tests.cli import ns, run, train_args

STEPS = 60


def train_cmd(data: Path, out: Path, name: str) -> list:
    return train_args("contrastive-gc-small", data, out, name, STEPS, "--steps-per-eval-all-images", 100000)


@pytest.fixture(scope="module")
def trained(tiny_dataset: Path, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("cgc_e2e")
    run(*train_cmd(tiny_dataset, root / "outputs", "e2e"), cwd=root)
    return {"root": root, "data": tiny_dataset, "config": next((root / "outputs").glob("e2e/*/t/config.yml"))}


def test_segment_writes_masks_objects_labels(trained: dict):
    out = trained["root"] / "seg"
    run(ns("ns-cgc-segment"), "--load-config", trained["config"], "--output-dir", out, cwd=trained["root"])
    test_stems = sorted(
        p.stem
        for p in (trained["data"] / "images").glob("*.png")
        if not (trained["data"] / "segments" / p.name).exists()
    )
    masks = sorted((out / "masks").glob("*.png"))
    assert [m.stem for m in masks] == test_stems
    with Image.open(masks[0]) as img:
        assert img.mode.startswith("I") and img.size == (32, 32)  # 16-bit ids
    labels = np.load(out / "labels.npy")
    objects = sorted((out / "objects").glob("*.ply"))
    assert objects and labels.dtype == np.int32
    counts = sum(PlyData.read(str(p))["vertex"].count for p in objects)
    assert counts == int((labels > 0).sum())
    assert {int(p.stem) for p in objects} <= set(np.unique(labels).tolist())
    votes = json.loads((out / "summary.json").read_text())["choice"]["mask_votes"]  # the default labelling ran
    assert votes["views"] > 0 and votes["min_labelled_share"] == 0.1


def test_plugins_export_writes_features_by_row(trained: dict):
    import torch

    out = trained["root"] / "export"
    run(ns("ns-plugins-export"), "--load-config", trained["config"], "--output-dir", out, cwd=trained["root"])
    vertex = PlyData.read(str(out / "splat.ply"))["vertex"]
    names = [p.name for p in vertex.properties]
    assert {"x", "f_dc_0", "opacity", "rot_0", "seg_feature_0", "seg_feature_15"} <= set(names)
    assert names.index("seg_feature_0") > names.index("rot_3")  # splatfacto's columns first, as ns-export writes them
    ckpt = torch.load(
        next(trained["config"].parent.glob("nerfstudio_models/*.ckpt")), map_location="cpu", weights_only=False
    )
    means = ckpt["pipeline"]["_model.gauss_params.means"].numpy()
    feats = ckpt["pipeline"]["_model.gauss_params.seg_features"].numpy()
    opacity = ckpt["pipeline"]["_model.gauss_params.opacities"].numpy().reshape(-1)
    kept = opacity >= -5.5373  # what ns-export keeps
    assert vertex.count == int(kept.sum())
    assert np.allclose(np.asarray(vertex["x"]), means[kept, 0]) and np.allclose(
        np.asarray(vertex["seg_feature_7"]), feats[kept, 7]
    )


def test_missing_segments_is_one_line_error(trained: dict, tmp_path: Path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(trained["data"], data)
    shutil.rmtree(data / "segments")
    proc = run(*train_cmd(data, tmp_path / "out", "bad"), cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert f"error: {data / 'segments'}: no segment maps" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
