"""nerfstudio's Trainer with resume that trains, checkpoints that survive a kill, and one-line input errors.

Three changes to nerfstudio 1.1.5's ``Trainer`` (its issue #3554 and friends):

- **Resume continues training.** nerfstudio builds the optimizers, then loads the checkpoint; splatfacto's
  ``load_state_dict`` swaps every ``gauss_params`` entry for a new Parameter, so Adam keeps updating
  orphans and the resumed run changes nothing. Here the optimizers are rebuilt on the loaded parameters
  and their saved state (and the schedulers') restored. ``max_num_iterations`` is the run's total: a
  300-step run resumed from its step-150 checkpoint runs the remaining steps, not 300 more, so the
  run-length schedule (``PortableTrainerConfig``) continues where it stopped.
- **Atomic checkpoints.** A checkpoint is written to a hidden file beside ``nerfstudio_models/`` (whose every
  file name nerfstudio's loaders parse) and renamed into place, so a kill mid-save leaves no partial file.
  Resuming skips an unreadable newest checkpoint (one line naming it) and falls back to the previous one.
- **Bad input is one line.** A ``DataError`` raised while setting up or training prints one line and
  exits with status 2 instead of a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import torch
from nerfstudio.engine.trainer import Trainer
from nerfstudio.utils.decorators import check_main_thread
from nerfstudio.utils.rich_utils import CONSOLE

from ns_plugins.data.errors import DataError, exit_with

CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.ckpt$")
"""File names nerfstudio gives checkpoints (``step-000000150.ckpt``)."""


def checkpoint_files(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of the checkpoints in ``folder``, oldest first; other files are ignored."""
    found = []
    for path in Path(folder).iterdir():
        match = CHECKPOINT_NAME.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's saved state; a ``DataError`` naming the file when it is truncated or unreadable."""
    try:
        state = torch.load(path, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - truncated zips raise EOFError, RuntimeError, pickle and zipfile errors
        raise DataError(path, f"truncated or unreadable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or not {"step", "pipeline", "optimizers"} <= state.keys():
        raise DataError(path, "not a nerfstudio checkpoint (expected step, pipeline and optimizers)")
    return state


def newest_readable_checkpoint(folder: Path) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint of ``folder`` that loads, and its state; each unreadable newer one is skipped
    with one line naming it. ``DataError`` when the folder has no readable checkpoint."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "checkpoint folder (--load-dir) does not exist")
    files = checkpoint_files(folder)
    if not files:
        raise DataError(folder, "no step-*.ckpt checkpoint in the folder (--load-dir)")
    for _, path in reversed(files):
        try:
            return path, read_checkpoint(path)
        except DataError as err:
            CONSOLE.print(f"[yellow]skipping {path}: {err.problem}", soft_wrap=True)
    raise DataError(folder, f"none of its {len(files)} checkpoints can be read")


def check_run_paths(
    data: Path | None, load_dir: Path | None, load_step: int | None, load_checkpoint: Path | None
) -> None:
    """``DataError`` naming the flag's path when ``--data``, ``--load-dir`` (with ``--load-step``) or
    ``--load-checkpoint`` names nothing usable. Only existence: the dataparser checks the data's contents."""
    if data is not None and not Path(data).exists():
        raise DataError(data, "data path (--data) does not exist")
    if load_dir is not None:
        if not Path(load_dir).is_dir():
            raise DataError(load_dir, "checkpoint folder (--load-dir) does not exist")
        if load_step is None and not checkpoint_files(Path(load_dir)):
            raise DataError(load_dir, "no step-*.ckpt checkpoint in the folder (--load-dir)")
        if load_step is not None and not (Path(load_dir) / f"step-{load_step:09d}.ckpt").is_file():
            raise DataError(Path(load_dir) / f"step-{load_step:09d}.ckpt", "checkpoint (--load-step) does not exist")
    if load_checkpoint is not None and not Path(load_checkpoint).is_file():
        raise DataError(load_checkpoint, "checkpoint (--load-checkpoint) does not exist")


def remaining_steps(total: int, start_step: int) -> int:
    """Steps left of a ``total``-step run that continues at ``start_step`` (0 when it is complete)."""
    return max(total - start_step, 0)


class PortableTrainer(Trainer):
    """See the module docstring."""

    def setup(self, test_mode: Literal["test", "val", "inference"] = "val") -> None:
        try:
            super().setup(test_mode)
        except DataError as error:
            exit_with(error)
        self._say_viewer_port()

    def _say_viewer_port(self) -> None:
        """One line when the viewer took another port than the one asked for (nerfstudio moves silently)."""
        server = getattr(self.viewer_state, "viser_server", None)
        if server is None or not hasattr(server, "get_port"):
            return
        wanted = self.config.viewer.websocket_port or self.config.viewer.websocket_port_default
        if server.get_port() != wanted:
            CONSOLE.print(
                f"viewer: port {wanted} is busy, using port {server.get_port()} (http://localhost:{server.get_port()})"
            )

    def train(self) -> None:
        """Train to ``max_num_iterations`` steps in all, counting the steps of a loaded checkpoint."""
        total = self.config.max_num_iterations
        remaining = remaining_steps(total, self._start_step)
        if self._start_step > 0:
            CONSOLE.print(f"Resuming at step {self._start_step} of {total}: {remaining} steps to go.")
        if remaining == 0:
            CONSOLE.print(f"Nothing to train: the checkpoint is at step {self._start_step - 1} of a {total}-step run.")
            return
        # nerfstudio's loop runs max_num_iterations steps from _start_step; the schedule keeps the total
        self.config.max_num_iterations = remaining
        try:
            super().train()
        except DataError as error:
            exit_with(error)
        finally:
            self.config.max_num_iterations = total

    def _load_checkpoint(self) -> None:
        """Load the pipeline, then rebuild the optimizers on its (new) parameters and restore their state."""
        path = self._checkpoint_to_load()
        if path is None:
            CONSOLE.print("No Nerfstudio checkpoint to load, so training from scratch.")
            return
        if path.is_dir():
            path, state = newest_readable_checkpoint(path)
        else:
            state = read_checkpoint(path)
        self._start_step = state["step"] + 1
        self.pipeline.load_pipeline(state["pipeline"], state["step"])
        # a model may replace its Parameters while loading: bind fresh optimizers to the ones it has now
        self.optimizers = self.setup_optimizers()
        self.optimizers.load_optimizers(state["optimizers"])
        if "schedulers" in state and self.config.load_scheduler:
            self.optimizers.load_schedulers(state["schedulers"])
        self.grad_scaler.load_state_dict(state["scalers"])
        CONSOLE.print(f"Done loading Nerfstudio checkpoint from {path}")

    def _checkpoint_to_load(self) -> Path | None:
        """The checkpoint file or folder to resume from (``--load-dir``/``--load-step``/``--load-checkpoint``)."""
        config = self.config
        check_run_paths(None, config.load_dir, config.load_step, config.load_checkpoint)
        if config.load_dir is not None:
            if config.load_step is None:
                return Path(config.load_dir)
            return Path(config.load_dir) / f"step-{config.load_step:09d}.ckpt"
        return None if config.load_checkpoint is None else Path(config.load_checkpoint)

    @check_main_thread
    def save_checkpoint(self, step: int) -> None:
        """Save the pipeline, optimizers, schedulers and grad scaler at ``step``, atomically."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / f"step-{step:09d}.ckpt"
        pipeline = self.pipeline.module if hasattr(self.pipeline, "module") else self.pipeline
        state = {
            "step": step,
            "pipeline": pipeline.state_dict(),  # type: ignore[union-attr]
            "optimizers": {k: v.state_dict() for (k, v) in self.optimizers.optimizers.items()},
            "schedulers": {k: v.state_dict() for (k, v) in self.optimizers.schedulers.items()},
            "scalers": self.grad_scaler.state_dict(),
        }
        write_atomically(state, path, self.checkpoint_dir.parent / f".{path.name}.partial")
        if self.config.save_only_latest_checkpoint:
            for _, old in checkpoint_files(self.checkpoint_dir):
                if old != path:
                    old.unlink()


def write_atomically(state: dict[str, Any], path: Path, partial: Path) -> None:
    """``torch.save`` to ``partial``, flushed to disk, then renamed to ``path`` (same file system)."""
    with open(partial, "wb") as stream:
        torch.save(state, stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)
