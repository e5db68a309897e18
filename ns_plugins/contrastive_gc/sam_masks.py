"""``ns-cgc-masks``: per-view segment maps from SAM's automatic mask generator.

    ns-cgc-masks --data DIR --sam-checkpoint sam_vit_b_01ec64.pth [--model-type vit_b|vit_l|vit_h]

writes ``DIR/segments/<image stem>.png`` for every image of the dataset (the frames of
``DIR/transforms.json``, else every image in ``DIR/images``), the layout ``contrastive-gc`` trains
on: one id per pixel, 0 = unlabelled, 8-bit (16-bit when a view has more than 255 segments).
SAM's masks overlap (a part inside its object); each pixel keeps the smallest mask that covers it
(masks painted largest first), so parts win over wholes as in the authors' and Gaussian
Grouping's mask preparation; masks left with no pixel are dropped and ids are consecutive.

Needs the optional ``segment-anything`` package (``pip install 'ns-plugins[sam]'``) and a local
checkpoint: weights are never downloaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence

import numpy as np
from PIL import Image

from ns_plugins.data import writer
from ns_plugins.data.errors import DataError, exits_on_data_error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".JPG", ".JPEG", ".PNG")


@dataclass
class MasksArgs:
    """Segment every image of a dataset with SAM's automatic mask generator (for contrastive-gc)."""

    data: Path
    """Dataset folder (transforms.json and images/)."""
    sam_checkpoint: Path
    """Local SAM checkpoint (e.g. sam_vit_b_01ec64.pth from the segment-anything release); never downloaded."""
    model_type: Literal["vit_b", "vit_l", "vit_h"] = "vit_h"
    """SAM backbone of the checkpoint."""
    output_folder: str = "segments"
    """Folder under ``data`` for the maps (contrastive-gc's ``--pipeline.datamanager.segments-folder``)."""
    points_per_side: int = 32
    """Grid of point prompts per image side (SAM's default)."""
    pred_iou_thresh: float = 0.88
    """Masks SAM predicts with a lower IoU are dropped (SAM's default)."""
    stability_score_thresh: float = 0.95
    """Masks less stable under threshold changes are dropped (SAM's default)."""
    min_mask_region_area: int = 0
    """Holes and islands smaller than this many pixels are removed (needs opencv; 0: off)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where SAM runs (auto: CUDA when available)."""


def dataset_images(data: Path) -> List[Path]:
    """Image files of a dataset: the frames of transforms.json when present, else images/*."""
    transforms = data / "transforms.json"
    if transforms.is_file():
        frames = json.loads(transforms.read_text()).get("frames", [])
        paths = [data / frame["file_path"] for frame in frames]
    else:
        paths = sorted(p for p in (data / "images").glob("*") if p.suffix in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(data, "no images: expected transforms.json frames or image files in images/")
    for path in paths:
        if not path.is_file():
            raise DataError(path, "image listed in transforms.json does not exist")
    return paths


def combine_masks(masks: Sequence[Dict[str, Any]], height: int, width: int) -> np.ndarray:
    """SAM's mask records (``segmentation`` [H, W] bool, ``area``) -> one id per pixel [H, W] int64.

    Painted largest first, so a smaller mask on top of a larger one keeps its pixels; 0 where no
    mask covers a pixel; ids 1..M consecutive over the masks that kept any pixel.
    """
    ids = np.zeros((height, width), dtype=np.int64)
    order = sorted(range(len(masks)), key=lambda i: -int(masks[i]["area"]))
    for rank, i in enumerate(order, start=1):
        ids[np.asarray(masks[i]["segmentation"], dtype=bool)] = rank
    kept = np.unique(ids[ids > 0])
    lookup = np.zeros(len(masks) + 1, dtype=np.int64)
    lookup[kept] = np.arange(1, len(kept) + 1)
    return lookup[ids]


def write_segment_map(path: Path, ids: np.ndarray) -> Path:
    """Write ids [H, W] as an 8-bit PNG, or a 16-bit one when an id exceeds 255."""
    if ids.max(initial=0) > 255:
        return writer.write_uint16_png(path, ids.astype(np.uint16))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ids.astype(np.uint8), mode="L").save(path)
    return path


def load_sam(model_type: str, checkpoint: Path, device: str):
    """SAM ``model_type`` with the weights of a local ``checkpoint``; one-line errors for what is missing."""
    try:
        from segment_anything import sam_model_registry
    except ImportError:
        raise DataError(
            "segment-anything", "not installed: pip install 'ns-plugins[sam]' (or pip install segment-anything)"
        ) from None
    if not Path(checkpoint).is_file():
        raise DataError(
            checkpoint,
            "SAM checkpoint not found: pass --sam-checkpoint with a local file "
            "(e.g. sam_vit_h_4b8939.pth from the segment-anything release; never downloaded)",
        )
    try:
        model = sam_model_registry[model_type](checkpoint=str(checkpoint))
    except (RuntimeError, KeyError, OSError, EOFError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            checkpoint, f"cannot be loaded as a SAM {model_type} checkpoint (--model-type?): {first}"
        ) from None
    return model.to(device).eval()


def generate_segment_maps(generator, images: Sequence[Path], out_dir: Path) -> Dict[str, int]:
    """Run a ``SamAutomaticMaskGenerator`` on each image; write ``out_dir/<stem>.png`` -> stem: segments."""
    counts = {}
    for path in images:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        ids = combine_masks(generator.generate(rgb), rgb.shape[0], rgb.shape[1])
        write_segment_map(out_dir / f"{path.stem}.png", ids)
        counts[path.stem] = int(ids.max(initial=0))
    return counts


def main(args: MasksArgs, model: Optional[Any] = None) -> Dict[str, int]:
    """Write the segment maps of ``args.data`` -> image stem: number of segments (``model``: a loaded SAM)."""
    data = Path(args.data)
    if not data.is_dir():
        raise DataError(data, "dataset folder does not exist")
    images = dataset_images(data)
    if model is None:
        import torch

        device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
        model = load_sam(args.model_type, args.sam_checkpoint, device)
    from segment_anything import SamAutomaticMaskGenerator

    generator = SamAutomaticMaskGenerator(
        model,
        points_per_side=args.points_per_side,
        pred_iou_thresh=args.pred_iou_thresh,
        stability_score_thresh=args.stability_score_thresh,
        min_mask_region_area=args.min_mask_region_area,
    )
    counts = generate_segment_maps(generator, images, data / args.output_folder)
    print(
        f"{len(counts)} segment maps in {data / args.output_folder} ({np.median(list(counts.values())):.0f} segments "
        "per view, median)"
    )
    return counts


@exits_on_data_error
def entrypoint() -> None:
    """Console script ``ns-cgc-masks``."""
    import tyro

    main(tyro.cli(MasksArgs))


if __name__ == "__main__":
    entrypoint()
