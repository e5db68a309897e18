"""Gaussians to PLY with their segmentation features.

- :func:`gaussian_columns` / :func:`write_gaussian_ply`: the 3DGS PLY layout that
  ``ns-export gaussian-splat`` writes (x y z nx ny nz f_dc_* f_rest_* opacity scale_* rot_*) plus
  ``seg_feature_0..E-1``, for any subset of Gaussians (``ns-cgc-segment`` objects, viewer selection).
- :func:`install_ply_export_hook`: makes ``ns-export gaussian-splat`` add the feature columns.
  nerfstudio's exporter builds its columns from fixed model attributes and calls the static
  ``ExportGaussianSplat.write_ply``; the hook wraps that call and, when the rows being written are
  (a subsequence of, after the exporter's filtering) a live contrastive-gc model's Gaussians,
  appends those rows' features. Other models' exports pass through unchanged.
"""

from __future__ import annotations

import sys
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from ns_plugins.contrastive_gc.features import FEATURE_KEY, PLY_PREFIX

_LIVE_MODELS: "weakref.WeakSet" = weakref.WeakSet()
_HOOK_FLAG = "_ns_plugins_cgc_hook"


def gaussian_columns(model, rows: Optional[torch.Tensor] = None) -> "OrderedDict[str, np.ndarray]":
    """Per-Gaussian PLY columns [M] float32 of ``model`` (rows: [M] indices or bool mask; None = all)."""
    sel = slice(None) if rows is None else rows
    with torch.no_grad():
        means = model.means[sel].detach().cpu().numpy()
        dc = model.features_dc[sel].detach().cpu().numpy()
        rest = model.features_rest[sel].detach().transpose(1, 2).reshape(means.shape[0], -1).cpu().numpy()
        cols: "OrderedDict[str, np.ndarray]" = OrderedDict()
        for i, k in enumerate("xyz"):
            cols[k] = means[:, i]
        for k in ("nx", "ny", "nz"):
            cols[k] = np.zeros(len(means), np.float32)
        for i in range(dc.shape[1]):
            cols[f"f_dc_{i}"] = dc[:, i]
        if model.config.sh_degree > 0:
            for i in range(rest.shape[1]):
                cols[f"f_rest_{i}"] = rest[:, i]
        cols["opacity"] = model.opacities[sel].detach().cpu().numpy().reshape(-1)
        scales = model.scales[sel].detach().cpu().numpy()
        for i in range(3):
            cols[f"scale_{i}"] = scales[:, i]
        quats = model.quats[sel].detach().cpu().numpy()
        for i in range(4):
            cols[f"rot_{i}"] = quats[:, i]
        feats = model.gauss_params[FEATURE_KEY][sel].detach().cpu().numpy()
        for i in range(feats.shape[1]):
            cols[f"{PLY_PREFIX}{i}"] = feats[:, i]
    return OrderedDict((k, np.ascontiguousarray(v, dtype=np.float32)) for k, v in cols.items())


def write_gaussian_ply(path: Path, columns: "OrderedDict[str, np.ndarray]") -> Path:
    """Write columns (name -> [M] float32) as a binary little-endian PLY of vertices."""
    count = len(next(iter(columns.values())))
    vertex = np.empty(count, dtype=[(k, "f4") for k in columns])
    for k, v in columns.items():
        vertex[k] = v
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(str(path))
    return path


def read_ply_features(path: Path) -> np.ndarray:
    """The seg_feature_* columns of a PLY -> [M, E] float32."""
    vertex = PlyData.read(str(path))["vertex"]
    names = sorted((p.name for p in vertex.properties if p.name.startswith(PLY_PREFIX)), key=lambda n: int(n[len(PLY_PREFIX):]))
    return np.stack([np.asarray(vertex[n], dtype=np.float32) for n in names], axis=1) if names else np.zeros((vertex.count, 0), np.float32)


def match_rows(model_xyz: np.ndarray, written_xyz: np.ndarray) -> Optional[np.ndarray]:
    """Indices [M] of the rows of ``model_xyz`` [N, 3] that ``written_xyz`` [M, 3] lists, in order; None if it is not a subsequence."""
    if len(written_xyz) == len(model_xyz):
        return np.arange(len(model_xyz)) if np.array_equal(model_xyz, written_xyz) else None
    out = np.empty(len(written_xyz), dtype=np.int64)
    j = 0
    for i, row in enumerate(model_xyz):  # the exporter only drops rows: one ordered pass
        if j < len(written_xyz) and np.array_equal(row, written_xyz[j]):
            out[j] = i
            j += 1
    return out if j == len(written_xyz) else None


def _with_features(map_to_tensors: "OrderedDict[str, np.ndarray]") -> "OrderedDict[str, np.ndarray]":
    """The exporter's columns plus seg_feature_* when they come from a live contrastive-gc model."""
    if not {"x", "y", "z"} <= set(map_to_tensors) or any(k.startswith(PLY_PREFIX) for k in map_to_tensors):
        return map_to_tensors
    written = np.stack([np.asarray(map_to_tensors[k], np.float32).reshape(-1) for k in "xyz"], 1)
    for model in list(_LIVE_MODELS):
        model_xyz = model.means.detach().cpu().numpy().astype(np.float32)
        rows = match_rows(model_xyz, written)
        if rows is None:
            continue
        feats = model.gauss_params[FEATURE_KEY].detach().cpu().numpy()[rows]
        extended = OrderedDict(map_to_tensors)
        for i in range(feats.shape[1]):
            extended[f"{PLY_PREFIX}{i}"] = np.ascontiguousarray(feats[:, i : i + 1], dtype=np.float32)
        return extended
    return map_to_tensors


def install_ply_export_hook(model=None) -> bool:
    """Register ``model`` for export and wrap ``ExportGaussianSplat.write_ply`` once (when the exporter is loaded).

    Returns whether the hook is in place.
    """
    if model is not None:
        _LIVE_MODELS.add(model)
    exporter = sys.modules.get("nerfstudio.scripts.exporter")
    cls = getattr(exporter, "ExportGaussianSplat", None)
    if cls is None:
        return False
    if getattr(cls.write_ply, _HOOK_FLAG, False):
        return True
    original = cls.write_ply

    def write_ply(filename, count, map_to_tensors):
        return original(filename, count, _with_features(map_to_tensors))

    setattr(write_ply, _HOOK_FLAG, True)
    cls.write_ply = staticmethod(write_ply)
    return True
