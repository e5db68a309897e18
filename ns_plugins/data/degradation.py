"""The hook through which a method adds its degradation (motion blur, rain, masks) to a synthetic dataset.

A degradation is any callable ``(ctx: DegradationContext) -> DegradationResult`` (or a class
whose no-argument instance is one). It runs after the clean dataset has been written (clean
renders of every frame are already under ``gt/clean/``), and may:

- return new training images (``result.images``: stem -> display RGB [H, W, 3] in [0, 1]),
  which the generator writes over ``images/<stem>.png``;
- write its own per-image files under ``ctx.out_dir`` (e.g. ``segments/<stem>.png``) with the
  helpers in ``ns_plugins.data.writer``;
- add top-level keys to transforms.json (``result.transforms``), per-frame keys
  (``result.frames``: stem -> dict) and ground-truth facts (``result.ground_truth``, stored in
  gt/scene.json under "degradation").

Methods register theirs through the entry-point group ``ns_plugins.degradations``
(``name = "package.module:attr"``) so that ``ns_plugins.data`` never imports a method;
``register_degradation`` adds one at run time (tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, Type, TypeVar

import numpy as np

from ns_plugins.data.cameras import PinholeCamera
from ns_plugins.data.errors import DataError
from ns_plugins.data.scene import Scene

ENTRY_POINT_GROUP = "ns_plugins.degradations"


@dataclass(frozen=True)
class DegradationContext:
    """What a degradation may use. Frame i has camera cameras[i], stem stems[i], clean render clean[i].

    render: ``render_view(scene, c2w, fx, fy, cx, cy, width, height, supersample=...)``, e.g. to
    render sub-frame poses for motion blur; ``render_camera`` wraps it for a PinholeCamera.
    clean[i]: render_view output (rgb, rgb_linear [H, W, 3], depth, instance [H, W]).
    rng: the degradation's own stream (derived from the dataset seed).
    """

    scene: Scene
    render: Callable[..., dict[str, np.ndarray]]
    cameras: Sequence[PinholeCamera]
    stems: Sequence[str]
    train_indices: np.ndarray
    test_indices: np.ndarray
    clean: Sequence[dict[str, np.ndarray]]
    rng: np.random.Generator
    out_dir: Path
    supersample: int = 2
    options: dict[str, Any] = field(default_factory=dict)

    def render_camera(self, camera: PinholeCamera, c2w: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Render `camera` (optionally at another pose c2w [4, 4]) with the dataset's settings."""
        pose = camera.c2w if c2w is None else c2w
        return self.render(
            self.scene,
            pose,
            camera.fx,
            camera.fy,
            camera.cx,
            camera.cy,
            camera.width,
            camera.height,
            supersample=self.supersample,
        )

    @property
    def train_stems(self) -> list[str]:
        return [self.stems[int(i)] for i in self.train_indices]

    @property
    def test_stems(self) -> list[str]:
        return [self.stems[int(i)] for i in self.test_indices]


@dataclass
class DegradationResult:
    """What a degradation changes; every field is optional (empty = no change)."""

    images: dict[str, np.ndarray] = field(default_factory=dict)
    transforms: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, dict[str, Any]] = field(default_factory=dict)
    ground_truth: dict[str, Any] = field(default_factory=dict)


class Degradation(Protocol):
    def __call__(self, ctx: DegradationContext) -> DegradationResult: ...


def no_degradation(ctx: DegradationContext) -> DegradationResult:
    """Built-in ``none``: the training images stay clean."""
    return DegradationResult()


_BUILTIN: dict[str, Degradation] = {"none": no_degradation}
# Run-time registrations (tests, notebooks); they take precedence over entry points.
_RUNTIME: dict[str, Any] = {}


def register_degradation(name: str, degradation: Any) -> None:
    """Make `degradation` (callable or class) available as `name` in this process."""
    _RUNTIME[name] = degradation


def unregister_degradation(name: str) -> None:
    """Forget a run-time registration (no error if absent)."""
    _RUNTIME.pop(name, None)


def _entry_point_names() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_degradations() -> list[str]:
    """Names of all degradations: built-in, installed through entry points, registered at run time."""
    return sorted(set(_BUILTIN) | set(_entry_point_names()) | set(_RUNTIME))


def _instantiate(obj: Any) -> Degradation:
    """A class becomes its no-argument instance; callables pass through."""
    return obj() if isinstance(obj, type) else obj


def get_degradation(name: str) -> Degradation:
    """The degradation called `name`; a DataError listing the available ones if there is none."""
    if name in _RUNTIME:
        return _instantiate(_RUNTIME[name])
    if name in _BUILTIN:
        return _BUILTIN[name]
    eps = _entry_point_names()
    if name in eps:
        return _instantiate(eps[name].load())
    raise DataError("--degradation", f"unknown degradation {name!r}; available: {', '.join(available_degradations())}")


OptionsT = TypeVar("OptionsT")


def parse_degradation_options(options_type: Type[OptionsT], options: dict, degradation: str) -> OptionsT:
    """``--degradation-options`` dict -> ``options_type`` (a dataclass), each value cast to its
    field's default's type (None stays None); unknown names or bad values raise a DataError."""
    known = {f.name: f for f in fields(options_type)}  # type: ignore[arg-type]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DataError(
            "--degradation-options",
            f"unknown {degradation} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
        )

    def cast(name: str, value: Any) -> Any:
        default = known[name].default
        return value if value is None else (float if default is None else type(default))(value)

    try:
        return options_type(**{k: cast(k, v) for k, v in options.items()})
    except (TypeError, ValueError) as err:
        raise DataError("--degradation-options", f"bad {degradation} option value ({err})") from None
