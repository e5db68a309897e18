"""TrainerConfig that fits the run to this machine and to its own length."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Type

import torch
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.utils.rich_utils import CONSOLE

from ns_plugins.data.errors import DataError, exit_with
from ns_plugins.splat.trainer import PortableTrainer, check_run_paths


def default_device_type() -> str:
    """``cuda`` where a GPU is visible, ``cpu`` otherwise (nerfstudio always defaults to cuda)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def scale_decay(scheduler: object, steps: int) -> object:
    """An exponential-decay scheduler config stretched to ``steps`` (warm-up in proportion); others unchanged."""
    if not isinstance(scheduler, ExponentialDecaySchedulerConfig):
        return scheduler
    warmup = round(scheduler.warmup_steps * steps / scheduler.max_steps)
    return dataclasses.replace(scheduler, max_steps=steps, warmup_steps=warmup)


@dataclass
class PortableTrainerConfig(TrainerConfig):
    """nerfstudio's TrainerConfig, plus: CPU fallback and a schedule that follows ``max_num_iterations``."""

    _target: Type = field(default_factory=lambda: PortableTrainer)
    scale_schedule_to_run: bool = True
    """Rescale the model's step schedule and the learning-rate decays to ``max_num_iterations``
    (splatfacto's numbers assume 30k steps). The model's ``schedule_steps``, when set, wins."""

    def __post_init__(self) -> None:
        try:
            check_run_paths(self.data, self.load_dir, self.load_step, self.load_checkpoint)
        except DataError as error:
            # tyro builds this config while parsing ns-train's command line: stop before nerfstudio's config dump
            exit_with(error)
        if self.machine.device_type == "cuda" and not torch.cuda.is_available():
            CONSOLE.print("[yellow]No CUDA device: training on the CPU.")
            self.machine.device_type = "cpu"
        model = self.pipeline.model
        if hasattr(model, "run_steps"):
            # always overwritten: tyro re-uses a default instance's values as the CLI's defaults
            model.run_steps = self.max_num_iterations if self.scale_schedule_to_run else None
        if not self.scale_schedule_to_run:
            return
        # copies, so the method's shared default objects are never mutated
        self.optimizers = {
            name: {**group, "scheduler": scale_decay(group.get("scheduler"), self.max_num_iterations)}
            for name, group in self.optimizers.items()
        }
