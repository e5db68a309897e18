"""Full-image datamanager that adds each view's segment map (``batch["segments"]`` [H, W] int32)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Literal, Type

from ns_plugins.contrastive_gc.segments import load_segments
from ns_plugins.data.datamanager import PortableDatamanager, PortableDatamanagerConfig

SEGMENTS_KEY = "segments"


@dataclass
class SegmentsDatamanagerConfig(PortableDatamanagerConfig):
    """Images plus per-view segment maps ``<data>/<segments_folder>/<image stem>.png``."""

    _target: Type = field(default_factory=lambda: SegmentsDatamanager)
    segments_folder: str = "segments"
    """Folder of the segment maps, relative to the data folder."""


def data_root(data: Path) -> Path:
    """The dataset folder of ``--data`` (a folder or a transforms .json file)."""
    data = Path(data)
    return data.parent if data.suffix == ".json" else data


class SegmentsDatamanager(PortableDatamanager):
    """Training views must all have a segment map; held-out views use theirs when present."""

    config: SegmentsDatamanagerConfig

    def _load_images(self, split: Literal["train", "eval"], cache_images_device: Literal["cpu", "gpu"]) -> List[Dict]:
        cache = super()._load_images(split, cache_images_device)
        dataset = self.train_dataset if split == "train" else self.eval_dataset
        sizes = [tuple(entry["image"].shape[:2]) for entry in cache]
        segments = load_segments(
            dataset.image_filenames,
            sizes,
            data_root(self.config.dataparser.data),
            self.config.segments_folder,
            required=split == "train",
        )
        for entry, seg in zip(cache, segments):
            if seg is not None:
                entry[SEGMENTS_KEY] = seg.to(entry["image"].device)
        return cache
