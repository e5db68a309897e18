"""The model: features through densification, checkpoints, export columns, clustering, viewer actions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional, cast

import numpy as np
import pytest
import torch
from gsplat.strategy import ops
from nerfstudio.engine.optimizers import Optimizers

from ns_plugins.contrastive_gc.clustering import Method, cluster_gaussians, label_pixels
from ns_plugins.contrastive_gc.config import contrastive_gc, contrastive_gc_small
from ns_plugins.contrastive_gc.evaluation import adjusted_rand_index, matched_miou
from ns_plugins.contrastive_gc.features import FEATURE_KEY
from ns_plugins.contrastive_gc.model import ContrastiveGCModelConfig
from ns_plugins.contrastive_gc.visibility import blend_weight_sums
from ns_plugins.splat.export import kept_rows, read_ply_columns, splat_ply_columns, write_ply
from ns_plugins.splat.schedule import scaled_interval
from ns_plugins.splat.trainer_config import PortableTrainerConfig


@pytest.fixture(scope="module")
def setup(tiny_dataset: Path):
    config = cast(PortableTrainerConfig, copy.deepcopy(contrastive_gc_small.config))
    config.pipeline.datamanager.data = tiny_dataset
    config.max_num_iterations = 100
    model_config = cast(ContrastiveGCModelConfig, config.pipeline.model)
    model_config.spatial_weight = 1.0  # off in the preset, on in contrastive-gc: exercise it
    config.__post_init__()
    pipeline = config.pipeline.setup(device="cpu", test_mode="val")
    model = pipeline.model
    optimizers = Optimizers(config.optimizers, model.get_param_groups())
    return pipeline, model, optimizers


def one_step(pipeline, model, optimizers, step: int = 0) -> dict:
    model.train()
    model.step_cb(optimizers, step)
    camera, batch = pipeline.datamanager.next_train(step)
    outputs = model(camera)
    losses = model.get_loss_dict(outputs, batch)
    cast(torch.Tensor, sum(losses.values())).backward()
    optimizers.optimizer_step_all()
    optimizers.zero_grad_all()
    return losses


def test_feature_parameter_and_losses(setup):
    pipeline, model, optimizers = setup
    assert model.seg_features.shape == (model.means.shape[0], 16)
    losses = one_step(pipeline, model, optimizers)
    assert {"contrastive_loss", "spatial_loss"} <= set(losses) and torch.isfinite(losses["contrastive_loss"])
    state = optimizers.optimizers[FEATURE_KEY].state[model.seg_features]
    assert state["exp_avg"].abs().sum() > 0


def test_features_survive_split_duplicate_prune(setup):
    pipeline, model, optimizers = setup
    one_step(pipeline, model, optimizers, 1)  # optimizer state exists
    opt = {k: v for k, v in optimizers.optimizers.items() if k in model.gauss_params}
    n = model.means.shape[0]
    before = model.seg_features.detach().clone()
    state = {}
    dup = torch.zeros(n, dtype=torch.bool)
    dup[:5] = True
    ops.duplicate(model.gauss_params, opt, state, dup)
    assert model.seg_features.shape[0] == n + 5
    assert torch.equal(model.seg_features[n:].detach(), before[:5])
    split = torch.zeros(n + 5, dtype=torch.bool)
    split[5:8] = True
    ops.split(model.gauss_params, opt, state, split)
    assert model.seg_features.shape[0] == n + 5 + 3
    # split children keep their parent's feature
    assert torch.equal(model.seg_features[-6:-3].detach(), before[5:8]) and torch.equal(
        model.seg_features[-3:].detach(), before[5:8]
    )
    prune = torch.zeros(model.means.shape[0], dtype=torch.bool)
    prune[:10] = True
    ops.remove(model.gauss_params, opt, state, prune)
    m = model.means.shape[0]
    assert model.seg_features.shape[0] == m
    for name, param in model.gauss_params.items():
        optimizer = optimizers.optimizers[name]
        assert optimizer.param_groups[0]["params"][0] is param
        assert optimizer.state[param]["exp_avg"].shape == param.shape, name
    # expected rows: duplicate appends copies; split drops parents and appends two children each; remove drops
    f1 = torch.cat([before, before[:5]])
    f2 = torch.cat([f1[~split], f1[split], f1[split]])
    assert torch.equal(model.seg_features.detach(), f2[~prune])
    one_step(pipeline, model, optimizers, 2)  # still trains after the surgery


def test_checkpoint_round_trip_resizes_features(setup, tiny_dataset: Path):
    _, model, _ = setup
    state = {k: v.clone() for k, v in model.state_dict().items()}
    fresh_config = copy.deepcopy(contrastive_gc.config)
    fresh_config.pipeline.datamanager.data = tiny_dataset
    fresh = fresh_config.pipeline.setup(device="cpu", test_mode="val").model
    fresh.load_state_dict(state)
    assert torch.equal(fresh.seg_features, model.seg_features)


def test_export_columns_and_ply(setup, tmp_path: Path):
    _, model, _ = setup
    rows = torch.arange(0, 20, 2)
    cols = splat_ply_columns(model, rows)
    assert list(cols)[:3] == ["x", "y", "z"] and "f_dc_0" in cols and "rot_3" in cols
    assert list(cols)[-16:] == [f"seg_feature_{i}" for i in range(16)]  # the model's extra columns, after splatfacto's
    path = write_ply(tmp_path / "o.ply", cols)
    assert np.allclose(read_ply_columns(path, "seg_feature_"), model.seg_features[rows].detach().numpy())
    # rows dropped by one index for all columns: features stay with their Gaussian even where means coincide
    all_cols = splat_ply_columns(model)
    all_cols["x"][[1, 2]] = all_cols["x"][0]
    all_cols["opacity"][1] = -10.0  # below 1/255: dropped as ns-export drops it
    keep = kept_rows(all_cols)
    assert not keep[1] and keep[0] and keep[2]
    assert np.allclose(all_cols["seg_feature_5"][keep], model.seg_features[torch.from_numpy(keep), 5].detach().numpy())


def test_clustering_recovers_groups():
    g = torch.Generator().manual_seed(0)
    centers = torch.eye(6)[:3] * 3
    truth = torch.arange(3).repeat_interleave(200)
    feats = centers[truth] + 0.1 * torch.randn(600, 6, generator=g)
    opacities = torch.ones(600)
    cases: tuple[tuple[Method, Optional[int]], ...] = (("hdbscan", None), ("kmeans", 3))
    for method, k in cases:
        result = cluster_gaussians(feats, opacities, method=method, num_clusters=k)
        assert result.num_clusters == 3 and adjusted_rand_index(result.labels, truth.numpy()) > 0.99
    image = centers[truth[:100:10]].reshape(2, 5, 6)
    acc = torch.ones(2, 5, 1)
    acc[0, 0] = 0.0
    labels = label_pixels(image, acc, result)
    assert labels[0, 0] == 0 and labels[1, 4] == result.labels[90]


def test_clustering_fits_only_seen_gaussians():
    # Gaussians no training view sees keep untrained features; here they spread between groups 0 and 1
    g = torch.Generator().manual_seed(0)
    centers = torch.eye(6)[:3] * 3
    truth = torch.arange(3).repeat_interleave(200)
    seen = centers[truth] + 0.1 * torch.randn(600, 6, generator=g)
    t = torch.rand(800, 1, generator=g)
    unseen = (1 - t) * centers[0] + t * centers[1] + 0.1 * torch.randn(800, 6, generator=g)
    feats, opacities = torch.cat([seen, unseen]), torch.ones(1400)
    visibility = torch.cat([torch.full((600,), 5.0), torch.zeros(800)])
    spurious = cluster_gaussians(feats, opacities, method="hdbscan")
    assert spurious.num_clusters != 3  # fitted with the rest, the unseen ones make a density cluster of their own
    result = cluster_gaussians(feats, opacities, visibility=visibility, min_visibility=1.0)
    assert result.trained is not None
    assert (
        result.num_clusters == 3
        and result.trained.tolist() == (visibility >= 1).tolist()
        and adjusted_rand_index(result.labels[:600], truth.numpy()) > 0.99
    )
    transparent = cluster_gaussians(feats, torch.cat([torch.ones(600), torch.full((800,), 0.01)]))
    assert transparent.num_clusters == 3


def test_blend_weight_sums_add_up_to_rendered_alpha(setup):
    pipeline, model, _ = setup
    model.eval()
    cameras = pipeline.datamanager.train_dataset.cameras
    weights = blend_weight_sums(model, cameras, max_views=2)
    assert weights.shape == (model.means.shape[0],) and (weights >= 0).all()
    alpha = sum(float(model.render_features(cameras[i : i + 1])["accumulation"].sum()) for i in (0, len(cameras) - 1))
    assert float(weights.sum()) == pytest.approx(alpha, rel=1e-3)


def test_matched_miou_counts_extra_clusters():
    truth = [np.array([[1, 1, 2, 2]])]
    assert matched_miou([np.array([[5, 5, 7, 7]])], truth)["miou"] == 1.0
    split = matched_miou([np.array([[5, 6, 7, 7]])], truth)  # object 1 split in two: one part unmatched
    assert split["unmatched_clusters"] == 1 and split["miou"] == pytest.approx((0.5 + 1.0) / 3)
    merged = matched_miou([np.array([[5, 5, 5, 5]])], truth)  # one cluster cannot match two objects
    assert merged["miou"] == pytest.approx(0.25)
    unlabelled = matched_miou([np.array([[0, 5, 7, 7]])], truth)  # 0 = no object: a miss, not a cluster
    assert unlabelled["unmatched_clusters"] == 0 and unlabelled["miou"] == pytest.approx((0.5 + 1.0) / 2)


def test_viewer_select_and_export(setup, tmp_path: Path):
    _, model, _ = setup
    controls = model.segmentation_controls
    with torch.no_grad():
        target = 3
        model.opacities[target] = 5.0  # opaque enough to be picked
        origin = model.means[target] + torch.tensor([0.0, 0.0, 5.0])
        picked = controls.select_at(origin, model.means[target] - origin)
    assert picked is not None
    controls.threshold_slider.value = 0.999
    assert controls.selected_gaussians()[picked]
    assert controls.export_selection(tmp_path / "sel.ply") >= 1 and (tmp_path / "sel.ply").is_file()


def test_schedule_scales_with_run_length(setup):
    assert scaled_interval(50, 30000) == 50 and scaled_interval(50, 3000) == 5 and scaled_interval(50, 300) == 1
    _, model, _ = setup
    assert model.config.contrastive_every == 1 and model.config.spatial_every == 1  # the preset's, as given
    authors = cast(ContrastiveGCModelConfig, contrastive_gc.config.pipeline.model)
    assert authors.contrastive_every is None  # the authors' preset: derived
