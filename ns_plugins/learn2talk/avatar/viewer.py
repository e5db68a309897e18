"""Viewer controls of the learn2talk avatar: which mesh the Gaussians are posed on.

nerfstudio's viewer renders cameras that carry no per-image mesh, so the avatar is posed on the
model's ``pose_vertices``; these controls set it (any change re-renders the view):

- "Expression": ``template`` (the neutral mesh), ``training frame`` (the tracked mesh of one
  training instant, as the dataparser loaded it) or ``animation`` (meshes predicted from speech).
- "Sequence position": where in the chosen sequence (0 its first frame, 1 its last), so one slider
  spans sequences of any length (viser 0.2.7, nerfstudio 1.1.5's, has no public setter for a
  slider's range); "Frame shown" says which frame that is.
- "Speech (.wav)", "ns-l2t run" and "Animate from speech": run the run's audio-to-vertices network
  on the speech, as ``ns-l2t animate --load-config`` does, then show ``animation`` from frame 0.
- "Animation status": what the button loaded, or why it could not.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Optional, Protocol

import torch
from nerfstudio.viewer.viewer_elements import ViewerButton, ViewerDropdown, ViewerSlider, ViewerText
from torch import nn

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.avatar.motion import AvatarMotion, predict_avatar_motion

TEMPLATE, TRAINING_FRAME, ANIMATION = "template", "training frame", "animation"
EXPRESSIONS = [TEMPLATE, TRAINING_FRAME, ANIMATION]


class PosedAvatar(Protocol):
    """What the controls touch of the avatar model."""

    template: torch.Tensor
    """[V, 3] the rest mesh."""
    pose_vertices: torch.Tensor
    """[V, 3] the mesh the avatar is shown on."""


def frame_at(position: float, length: int) -> int:
    """The frame of a sequence of ``length`` frames at ``position`` in [0, 1] (clamped)."""
    return min(max(round(float(position) * (length - 1)), 0), length - 1)


class AvatarViewerControls(nn.Module):
    """Viewer elements (found by the viewer as public attributes of the model); no parameters.

    The viewer lists the elements in the alphabetical order of their attribute names: ``pose_*``
    (what is shown), then ``speech_*`` (the animation, in the order a user fills it in).

    Args:
        model: the avatar (its ``template`` [V, 3] and ``pose_vertices`` [V, 3] are read and set).
        frames: [K, V, 3] the training instants' meshes, dataparser coordinates.
        capture_linear: [3, 3] capture-world offsets -> dataparser offsets (the dataparser's rotation x scale).
    """

    _model_ref: weakref.ReferenceType[PosedAvatar]

    def __init__(self, model: PosedAvatar, frames: torch.Tensor, capture_linear: torch.Tensor) -> None:
        super().__init__()
        # a weak reference, not a submodule: the model owns these controls
        object.__setattr__(self, "_model_ref", weakref.ref(model))
        self._frames = frames
        self._capture_linear = capture_linear
        self._animation: Optional[torch.Tensor] = None  # [T, V, 3], set by the button
        self.pose_expression = ViewerDropdown(
            "Expression",
            TEMPLATE,
            list(EXPRESSIONS),
            cb_hook=self._on_pose_change,
            hint="mesh the Gaussians are posed on",
        )
        self.pose_position = ViewerSlider(
            "Sequence position",
            0.0,
            0.0,
            1.0,
            1e-4,
            cb_hook=self._on_pose_change,
            hint="where in the training instants or the animation: 0 first frame, 1 last",
        )
        self.pose_shown = ViewerText("Frame shown", "template", disabled=True, hint="the frame the avatar is posed on")
        self.speech_audio = ViewerText("Speech (.wav)", "", hint="speech to animate the avatar with")
        self.speech_network = ViewerText(
            "ns-l2t run", "", hint="an ns-l2t train --output folder (the audio-to-vertices network)"
        )
        self.speech_run_button = ViewerButton("Animate from speech", cb_hook=self._on_animate)
        self.speech_status = ViewerText("Animation status", "no animation loaded", disabled=True)

    def sequence(self) -> Optional[torch.Tensor]:
        """[T, V, 3] the meshes the frame slider scrubs now (None: the template, no frames)."""
        choice = self.pose_expression.value
        if choice == TRAINING_FRAME:
            return self._frames
        if choice == ANIMATION:
            return self._animation
        return None

    def frame_index(self) -> Optional[int]:
        """Index of the frame shown in the current sequence (None: the template)."""
        seq = self.sequence()
        return None if seq is None else frame_at(self.pose_position.value, len(seq))

    def selected_vertices(self) -> Optional[torch.Tensor]:
        """[V, 3] the mesh to pose the avatar on (None: the template)."""
        seq, index = self.sequence(), self.frame_index()
        return None if seq is None or index is None else seq[index]

    def show_frame(self, index: int) -> None:
        """Move the position slider to frame ``index`` of the current sequence (what a drag to it does)."""
        seq = self.sequence()
        length = 1 if seq is None else len(seq)
        self.pose_position.value = min(max(index, 0), length - 1) / max(length - 1, 1)
        self.apply()

    def apply(self) -> None:
        """Pose the model on the selected mesh and say which frame it is."""
        seq, index = self.sequence(), self.frame_index()
        self.pose_shown.value = "template" if seq is None or index is None else f"{index} of 0..{len(seq) - 1}"
        model = self._model_ref()
        if model is not None:
            verts = self.selected_vertices()
            model.pose_vertices = model.template if verts is None else verts.to(model.template)

    def load_animation(self, audio: Path, run: Path, speaker: Optional[str] = None) -> AvatarMotion:
        """Predict the meshes of ``audio`` with the network of ``run``, then show them from frame 0."""
        model = self._model_ref()
        assert model is not None  # the model owns these controls
        motion = predict_avatar_motion(model.template.cpu(), self._capture_linear, Path(run), Path(audio), speaker)
        self._animation = motion.vertices
        self.pose_position.value = 0.0
        self.pose_expression.value = ANIMATION
        self.apply()  # the elements' callbacks do it too, but only once they are in a viewer
        return motion

    def _on_pose_change(self, _element: object) -> None:
        self.apply()

    def _on_animate(self, _button: ViewerButton) -> None:
        try:
            motion = self.load_animation(Path(self.speech_audio.value), Path(self.speech_network.value))
        except DataError as err:  # bad paths, a run for another mesh: the one-line message as it is
            self.speech_status.value = str(err)
            return
        except Exception as err:  # noqa: BLE001 - shown in the panel: a GUI callback has no other way to report
            self.speech_status.value = f"error: {type(err).__name__}: {err}"
            return
        self.speech_status.value = f"{len(motion.vertices)} frames at {motion.fps:g} fps"
