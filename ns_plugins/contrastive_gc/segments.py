"""Reading per-view segment maps: ``<data>/segments/<image stem>.png``.

Accepted: 8- or 16-bit single-channel PNGs (ids, 0 = unlabelled), palette PNGs (the palette
index is the id), and colour-coded RGB/RGBA maps (each colour becomes an id, black = 0: ids only
need to be consistent within one view). Every problem is a ``DataError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ns_plugins.data.errors import DataError


def segment_path(data_dir: Path, folder: str, image_path: Path) -> Path:
    """Where the segment map of ``image_path`` lives: ``<data_dir>/<folder>/<image stem>.png``."""
    return Path(data_dir) / folder / f"{Path(image_path).stem}.png"


def colors_to_ids(rgb: np.ndarray) -> np.ndarray:
    """Colour-coded map [H, W, 3] uint8 -> int32 ids [H, W]: black is 0, other colours 1, 2, ... in colour order."""
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2].astype(np.int64)
    colors, inverse = np.unique(packed, return_inverse=True)
    ids = inverse.reshape(packed.shape).astype(np.int32)
    if colors[0] != 0:  # no black: every colour is a segment
        ids += 1
    return ids


def read_segment_map(path: Path) -> np.ndarray:
    """Read one segment map -> int32 ids [H, W]; raises DataError naming the file when it cannot."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            path, "segment map missing (contrastive-gc needs one per training image, same stem as the image)"
        )
    try:
        with Image.open(path) as img:
            mode = img.mode
            array = np.asarray(img)
    except Exception as err:  # PIL raises many types
        raise DataError(path, f"cannot be read as an image ({type(err).__name__}: {err})") from None
    if mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "1"):
        return array.astype(np.int32)
    if mode in ("RGB", "RGBA"):
        rgb = array[..., :3]
        if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
            return rgb[..., 0].astype(np.int32)  # grey stored as RGB
        return colors_to_ids(rgb)
    if mode == "LA":
        return array[..., 0].astype(np.int32)
    raise DataError(
        path, f"unsupported image mode {mode!r}: expected a single-channel (8/16-bit) id map or a colour-coded RGB map"
    )


def fit_to_image(ids: np.ndarray, height: int, width: int, path: Path) -> np.ndarray:
    """Ids [h, w] resized to the image's [height, width]: nearest-neighbour for an integer downscale, else an error."""
    h, w = ids.shape
    if (h, w) == (height, width):
        return ids
    fy, fx = h / height, w / width
    if fy == fx and fy > 1 and float(fy).is_integer():
        # the image was downscaled by the dataparser (images_<d>/): take the pixel at each block's centre
        d = int(fy)
        return ids[d // 2 :: d, d // 2 :: d][:height, :width]
    raise DataError(path, f"segment map is {w}x{h} but its image is {width}x{height}")


def load_segments(
    image_paths: Sequence[Path], sizes: Sequence[tuple[int, int]], data_dir: Path, folder: str, required: bool
) -> list[torch.Tensor | None]:
    """Segment maps [H, W] int32 for each image (None where absent and not ``required``).

    Args:
        image_paths: the dataset's image files.
        sizes: (height, width) of each image as loaded.
        data_dir: the dataset root.
        folder: folder of the segment maps under ``data_dir``.
        required: a missing map is an error (training split).
    """
    seg_dir = Path(data_dir) / folder
    if required and not (seg_dir.is_dir() and any(seg_dir.glob("*.png"))):
        raise DataError(
            seg_dir,
            "no segment maps: contrastive-gc needs <data>/segments/<image stem>.png for every training image (change "
            "the folder with --pipeline.datamanager.segments-folder)",
        )
    out: list[torch.Tensor | None] = []
    for image_path, (height, width) in zip(image_paths, sizes):
        path = segment_path(data_dir, folder, image_path)
        if not path.is_file() and not required:
            out.append(None)
            continue
        ids = fit_to_image(read_segment_map(path), height, width, path)
        out.append(torch.from_numpy(np.ascontiguousarray(ids)))
    return out
