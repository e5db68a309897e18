"""TrainerConfig that fits the run to this machine and to its own length."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Type

import torch
import yaml
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.models.base_model import ModelConfig
from nerfstudio.utils.rich_utils import CONSOLE

from ns_plugins.data.errors import DataError, exit_with
from ns_plugins.splat.schedule import REFERENCE_STEPS
from ns_plugins.splat.trainer import PortableTrainer, check_run_paths


def default_device_type() -> Literal["cuda", "cpu"]:
    """``cuda`` where a GPU is visible, ``cpu`` otherwise (nerfstudio always defaults to cuda)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def scale_decay(scheduler: object, steps: int) -> object:
    """An exponential-decay scheduler config written for 30k steps stretched to ``steps`` (warm-up in
    proportion); others, and decays whose ``max_steps`` was set to another length, unchanged."""
    if not isinstance(scheduler, ExponentialDecaySchedulerConfig) or scheduler.max_steps != REFERENCE_STEPS:
        return scheduler
    warmup = round(scheduler.warmup_steps * steps / scheduler.max_steps)
    return dataclasses.replace(scheduler, max_steps=steps, warmup_steps=warmup)


@dataclass
class PortableTrainerConfig(TrainerConfig):
    """nerfstudio's TrainerConfig, plus: CPU fallback, and schedules that follow ``max_num_iterations``."""

    _target: Type = field(default_factory=lambda: PortableTrainer)
    scale_lr_decay_to_run: bool = True
    """Stretch the exponential learning-rate decays written for 30k steps (``max-steps`` 30000) to
    ``--max-num-iterations``; a decay whose ``max-steps`` you set to another value is kept. Independent of
    the model's step schedule (see ``--pipeline.model.schedule-steps``)."""

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
            # the run length the model derives its unset schedule fields from (not a command-line option)
            setattr(model, "run_steps", self.max_num_iterations)
        if not self.scale_lr_decay_to_run:
            return
        # copies, so the method's shared default objects are never mutated
        self.optimizers = {
            name: {**group, "scheduler": scale_decay(group.get("scheduler"), self.max_num_iterations)}
            for name, group in self.optimizers.items()
        }


def save_config_as_used(trainer_config: TrainerConfig, model_config: ModelConfig) -> None:
    """Rewrite the config.yml that ``ns-train`` saved, with ``model_config`` (the model's resolved copy) in
    place of the trainer's model config; nothing is written where no config.yml was saved."""
    path = trainer_config.get_base_dir() / "config.yml"
    if not path.exists():
        return
    config = copy.copy(trainer_config)
    config.pipeline = copy.copy(config.pipeline)
    config.pipeline.model = model_config
    path.write_text(yaml.dump(config), "utf8")
