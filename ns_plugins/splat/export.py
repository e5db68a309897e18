"""``ns-plugins-export``: splatfacto's Gaussian PLY plus each model's own per-Gaussian columns.

    ns-plugins-export --load-config outputs/.../config.yml --output-dir export/ [--obb-center ...]

writes ``export/splat.ply`` with the columns ``ns-export gaussian-splat`` writes (x y z nx ny nz
f_dc_* f_rest_* opacity scale_* rot_*, or red green blue with ``--ply-color-mode rgb``) followed
by the model's :meth:`~ns_plugins.splat.model.PortableSplatModel.extra_ply_columns` (for
contrastive-gc its features ``seg_feature_*``). Every column is read from the same model rows, and
rows are dropped (the oriented-box crop, non-finite values, opacity under 1/255, as ns-export
does) by one index for all columns, so the
extra columns belong to their Gaussian however many coincide. The command takes
``ns-export gaussian-splat``'s options; models without extra columns export exactly what it does.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Tuple, TypeAlias, Union

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from ns_plugins.data.errors import DataError, exits_on_data_error

Columns: TypeAlias = "OrderedDict[str, np.ndarray]"


def splat_ply_columns(
    model, rows: Optional[Union[torch.Tensor, np.ndarray]] = None, color_mode: str = "sh_coeffs"
) -> Columns:
    """Per-Gaussian PLY columns [M] of ``model``: splatfacto's layout, then ``model.extra_ply_columns()``.

    Args:
        model: a SplatfactoModel; extra columns when it has ``extra_ply_columns`` (PortableSplatModel).
        rows: [M] indices or [N] bool mask of the Gaussians to write (None: all).
        color_mode: ``sh_coeffs`` (f_dc_*, f_rest_*) or ``rgb`` (red, green, blue uint8), as ns-export.
    """
    sel = slice(None) if rows is None else rows
    with torch.no_grad():
        means = model.means[sel].detach().cpu().numpy()
        n = means.shape[0]
        cols: "OrderedDict[str, np.ndarray]" = OrderedDict((k, means[:, i]) for i, k in enumerate("xyz"))
        for k in ("nx", "ny", "nz"):
            cols[k] = np.zeros(n, np.float32)
        if color_mode == "rgb":
            rgb = (torch.clamp(model.colors[sel], 0.0, 1.0).detach().cpu().numpy() * 255).astype(np.uint8)
            for i, k in enumerate(("red", "green", "blue")):
                cols[k] = rgb[:, i]
        else:
            dc = model.features_dc[sel].detach().cpu().numpy()
            cols.update((f"f_dc_{i}", dc[:, i]) for i in range(dc.shape[1]))
            if model.config.sh_degree > 0:
                rest = model.features_rest[sel].detach().transpose(1, 2).reshape(n, -1).cpu().numpy()  # Inria's order
                cols.update((f"f_rest_{i}", rest[:, i]) for i in range(rest.shape[1]))
        cols["opacity"] = model.opacities[sel].detach().cpu().numpy().reshape(-1)
        scales = model.scales[sel].detach().cpu().numpy()
        cols.update((f"scale_{i}", scales[:, i]) for i in range(3))
        quats = model.quats[sel].detach().cpu().numpy()
        cols.update((f"rot_{i}", quats[:, i]) for i in range(4))
        extra = model.extra_ply_columns() if hasattr(model, "extra_ply_columns") else {}
        for name, values in extra.items():
            if name in cols:
                raise ValueError(f"extra PLY column {name!r} clashes with splatfacto's")
            cols[name] = values.detach().reshape(-1)[sel].cpu().numpy()
    return OrderedDict(
        (k, np.ascontiguousarray(v, dtype=np.uint8 if v.dtype == np.uint8 else np.float32)) for k, v in cols.items()
    )


def write_ply(path: Path, columns: Columns) -> Path:
    """Write columns (name -> [M] float32 or uint8) as one binary little-endian PLY vertex element."""
    count = len(next(iter(columns.values())))
    vertex = np.empty(count, dtype=[(k, "u1" if v.dtype == np.uint8 else "<f4") for k, v in columns.items()])
    for k, v in columns.items():
        vertex[k] = v
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(str(path))
    return path


def read_ply_columns(path: Path, prefix: str) -> np.ndarray:
    """The columns ``<prefix>0 .. <prefix>{E-1}`` of a PLY's vertices -> [M, E] float32 (E may be 0)."""
    vertex = PlyData.read(str(path))["vertex"]
    names = sorted(
        (p.name for p in vertex.properties if p.name.startswith(prefix) and p.name[len(prefix) :].isdigit()),
        key=lambda name: int(name[len(prefix) :]),
    )
    if not names:
        return np.zeros((vertex.count, 0), np.float32)
    return np.stack([np.asarray(vertex[name], dtype=np.float32) for name in names], axis=1)


MIN_OPACITY_LOGIT = -5.5373
"""logit(1/255): ns-export drops Gaussians below it (the rasterizer skips them)."""


def kept_rows(columns: Columns, within: Optional[np.ndarray] = None) -> np.ndarray:
    """[M] bool: the rows ns-export keeps (finite in every column, opacity >= 1/255, and ``within`` [M] a crop)."""
    keep = np.ones(len(columns["x"]), dtype=bool) if within is None else np.asarray(within, dtype=bool).copy()
    for values in columns.values():
        if values.dtype != np.uint8:
            keep &= np.isfinite(values)
    return keep & (columns["opacity"] >= MIN_OPACITY_LOGIT)


@dataclass
class ExportSplat:
    """Export a splat model as a 3DGS PLY with the model's extra per-Gaussian columns (e.g. seg_feature_*).

    The options are ``ns-export gaussian-splat``'s (its exporter module imports open3d, which this
    command does not need).
    """

    load_config: Path
    """config.yml of a trained run."""
    output_dir: Path
    """Folder for the PLY."""
    output_filename: str = "splat.ply"
    """Name of the PLY file."""
    obb_center: Optional[Tuple[float, float, float]] = None
    """Centre of an oriented box to crop to."""
    obb_rotation: Optional[Tuple[float, float, float]] = None
    """Rotation of the box, roll-pitch-yaw in radians."""
    obb_scale: Optional[Tuple[float, float, float]] = None
    """Size of the box along its axes."""
    ply_color_mode: Literal["sh_coeffs", "rgb"] = "sh_coeffs"
    """``sh_coeffs``: f_dc_*/f_rest_*; ``rgb``: red/green/blue (higher SH degrees dropped)."""

    def main(self) -> None:
        from nerfstudio.data.scene_box import OrientedBox
        from nerfstudio.models.splatfacto import SplatfactoModel
        from nerfstudio.utils.eval_utils import eval_setup
        from nerfstudio.utils.rich_utils import CONSOLE

        if not Path(self.load_config).is_file():
            raise DataError(self.load_config, "config file does not exist")
        _, pipeline, _, _ = eval_setup(self.load_config, test_mode="inference")
        model = pipeline.model
        if not isinstance(model, SplatfactoModel):
            raise DataError(self.load_config, f"not a Gaussian splatting run ({type(model).__name__})")
        columns = splat_ply_columns(model, color_mode=self.ply_color_mode)
        within = None
        if self.obb_center is not None and self.obb_rotation is not None and self.obb_scale is not None:
            obb = OrientedBox.from_params(self.obb_center, self.obb_rotation, self.obb_scale)
            within = obb.within(model.means.detach().cpu()).numpy().reshape(-1)
        keep = kept_rows(columns, within)  # one index for every column: extra columns stay with their Gaussian
        path = write_ply(
            Path(self.output_dir) / self.output_filename, OrderedDict((k, v[keep]) for k, v in columns.items())
        )
        extra_ply_columns = getattr(model, "extra_ply_columns", None)  # a method of some models only
        extra = len(extra_ply_columns()) if extra_ply_columns is not None else 0
        CONSOLE.print(
            f"{int(keep.sum())} of {len(keep)} Gaussians to {path}" + (f" with {extra} extra columns" if extra else "")
        )


@exits_on_data_error
def entrypoint() -> None:
    """Console script ``ns-plugins-export``."""
    import tyro

    tyro.cli(ExportSplat).main()


if __name__ == "__main__":
    entrypoint()
