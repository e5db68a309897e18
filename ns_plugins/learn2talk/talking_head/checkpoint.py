"""Reading and writing the networks' checkpoint files (``torch.save`` blobs of configs and tensors)."""

from __future__ import annotations

from pathlib import Path

import torch

from ns_plugins.data.errors import DataError


def load_checkpoint(path: Path) -> dict:
    """A ``torch.save``d dict of plain types and tensors (``weights_only``), with a one-line error naming the file."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means a bad checkpoint
        raise DataError(path, f"unreadable checkpoint ({err})") from None


def save_checkpoint(path: Path, blob: dict) -> None:
    """Write ``blob`` atomically: a kill mid-save leaves the previous file, never a truncated one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
