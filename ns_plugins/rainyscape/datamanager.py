"""Full-image datamanager that checks a rainy capture and tells the model what the rain net needs.

RainyScape separates the rain from the scene by what is not consistent across views, and its
rain generator has one output size: fewer than 2 training images, or training images of mixed
sizes, stop with a one-line error naming the file. The training image size and camera codes go
into the train dataset's metadata, which nerfstudio hands to the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Tuple, Type

from PIL import Image

from ns_plugins.data.datamanager import PortableDatamanager, PortableDatamanagerConfig
from ns_plugins.data.dataparser import load_transforms, locate_transforms
from ns_plugins.data.errors import DataError
from ns_plugins.rainyscape.rain_predictor import camera_code

IMAGE_SIZE_KEY = "rainyscape_image_size"
"""(height, width) of the training images."""
CAMERA_CODES_KEY = "rainyscape_camera_codes"
"""[N, 16] camera codes of the training views."""
MIN_VIEWS = 2


def image_size(path: Path) -> Tuple[int, int]:
    """(height, width) of an image file from its header."""
    try:
        with Image.open(path) as img:
            return img.height, img.width
    except Exception as err:  # PIL raises many types
        raise DataError(path, f"cannot be read as an image ({type(err).__name__}: {err})") from None


def check_frame_count(data: Path) -> None:
    """A nerfstudio-data folder (or transforms .json) with fewer than 2 frames -> DataError; other layouts pass."""
    try:
        transforms, _ = locate_transforms(Path(data))
    except DataError:
        return  # not a nerfstudio-data folder: its own parser reports what is wrong
    frames = load_transforms(transforms)["frames"]
    if len(frames) < MIN_VIEWS:
        raise DataError(
            transforms,
            f"rainyscape needs at least {MIN_VIEWS} images, the dataset has {len(frames)} (the rain is told apart "
            "from the scene by what differs between views)",
        )


def check_rainy_images(filenames: Sequence[Path], data: Path) -> Tuple[int, int]:
    """At least 2 training images, all of one size -> (height, width); a DataError otherwise."""
    if len(filenames) < MIN_VIEWS:
        raise DataError(
            data,
            f"rainyscape needs at least {MIN_VIEWS} training images, found {len(filenames)} "
            "(the rain is told apart from the scene by what differs between views)",
        )
    sizes = [image_size(Path(p)) for p in filenames]
    for path, size in zip(filenames, sizes):
        if size != sizes[0]:
            raise DataError(
                path,
                f"image is {size[1]}x{size[0]} but {Path(filenames[0]).name} is {sizes[0][1]}x{sizes[0][0]}: "
                "rainyscape's rain generator needs all training images at one size (resize them to one size)",
            )
    return sizes[0]


@dataclass
class RainyDatamanagerConfig(PortableDatamanagerConfig):
    """Images as the portable datamanager, checked for RainyScape; size and camera codes passed to the model."""

    _target: Type = field(default_factory=lambda: RainyDatamanager)


class RainyDatamanager(PortableDatamanager):
    """See the module docstring."""

    config: RainyDatamanagerConfig

    def __init__(self, config: RainyDatamanagerConfig, *args, **kwargs) -> None:
        check_frame_count(config.dataparser.data)  # before nerfstudio splits a 1-image dataset and fails obscurely
        super().__init__(config, *args, **kwargs)
        dataset = self.train_dataset
        size = check_rainy_images(list(dataset.image_filenames), self.config.dataparser.data)
        cams = dataset.cameras
        dataset.metadata[IMAGE_SIZE_KEY] = size
        dataset.metadata[CAMERA_CODES_KEY] = camera_code(
            cams.camera_to_worlds, cams.fx, cams.fy, cams.cx, cams.cy, cams.width, cams.height
        )

    @property
    def train_image_stems(self) -> List[str]:
        """Stems of the training images, in camera order."""
        return [Path(p).stem for p in self.train_dataset.image_filenames]
