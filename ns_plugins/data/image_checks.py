"""Checks of a dataset's image files before training, shared by every dataparser of the package.

nerfstudio reads an image with ``np.array(pil_image, dtype="uint8")``: a 16-bit PNG trains on its values
modulo 256, a palette image on its palette indices, with no word. It compares an image's size with its
camera only when the image is first loaded (a bare assertion without the file name, for held-out images
at the first evaluation, after training has started). Here every image of every split is checked from its
header (cheap: no decoding), and each problem is one ``DataError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ns_plugins.data.errors import DataError

TRAINABLE_MODES = ("L", "RGB", "RGBA")
"""PIL modes whose pixels nerfstudio's 8-bit reader takes as they are (grey, colour, colour + alpha)."""

MIN_FRAMES = 2
"""Fewest images a dataset may have: nerfstudio needs one to train on and one to hold out."""


def mode_problem(mode: str) -> str | None:
    """Why nerfstudio would mis-read an image of PIL ``mode``, or None when it reads it as it is."""
    if mode in TRAINABLE_MODES:
        return None
    if mode.startswith("I;16") or mode == "I":
        return (
            f"{'16' if mode.startswith('I;16') else '32'}-bit grayscale image (PIL mode {mode}): nerfstudio reads "
            "images as 8-bit and would train on wrapped values; convert it to 8-bit (scale by 255 / its maximum)"
        )
    if mode == "P":
        return "palette image (PIL mode P): nerfstudio would train on its palette indices; save it as RGB"
    return f"PIL mode {mode} is not grey, RGB or RGBA: nerfstudio cannot read it correctly; save it as RGB"


def check_image_file(path: Path, expected_size: tuple[int, int] | None, decode: bool = False) -> None:
    """``DataError`` naming ``path`` when it is missing, unreadable, of a mode nerfstudio mis-reads, or not
    ``expected_size`` (width, height) pixels. Reads the header only, unless ``decode``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "image does not exist")
    try:
        with Image.open(path) as img:
            mode, size = img.mode, img.size
            if decode:
                img.load()
            else:
                img.verify()  # header and checksums only: cheap
    except Exception as err:  # noqa: BLE001 - PIL raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        raise DataError(path, f"cannot be read as an image ({type(err).__name__}: {err})") from None
    problem = mode_problem(mode)
    if problem is not None:
        raise DataError(path, problem)
    if expected_size is not None and tuple(size) != tuple(expected_size):
        raise DataError(
            path,
            f"image is {size[0]}x{size[1]} pixels but its camera says {expected_size[0]}x{expected_size[1]} (w x h)",
        )


def check_frame_images(paths: Sequence[Path], sizes: Sequence[tuple[int, int] | None], listed_in: Path) -> None:
    """Check a dataset's images [N] (all splits) against their cameras' sizes [N] (width, height; None: any).

    ``DataError`` naming ``listed_in`` when there are fewer than :data:`MIN_FRAMES`, else naming the first
    bad image. The first image is fully decoded (catches truncated data), the others by header.
    """
    if len(paths) < MIN_FRAMES:
        raise DataError(
            listed_in, f"{len(paths)} image(s): need at least {MIN_FRAMES} (one to train on, one to hold out)"
        )
    for i, (path, size) in enumerate(zip(paths, sizes)):
        if not Path(path).is_file():
            raise DataError(path, f"image listed in {Path(listed_in).name} (frame {i}) does not exist")
        check_image_file(path, size, decode=i == 0)
