"""The avatar's viewer controls without a viewer: which mesh they pose the model on, and the speech button."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ns_plugins.learn2talk.avatar.motion import predict_avatar_motion
from ns_plugins.learn2talk.avatar.viewer import ANIMATION, TEMPLATE, TRAINING_FRAME, AvatarViewerControls, frame_at
from ns_plugins.learn2talk.talking_head.run import load_run
from tests.learn2talk.speech_run import tiny_speech_run


class PosedModel(nn.Module):
    """What the controls touch of the avatar model: ``template`` [V, 3] and ``pose_vertices`` [V, 3]."""

    template: torch.Tensor  # buffer (register_buffer below)

    def __init__(self, template: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("template", template)
        self.pose_vertices = template


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple:
    return tiny_speech_run(tmp_path_factory.mktemp("speech"))


def controlled(template: torch.Tensor, frames: torch.Tensor, linear: torch.Tensor = torch.eye(3)) -> tuple:
    model = PosedModel(template)
    return model, AvatarViewerControls(model, frames, linear)


def test_expression_and_frame_pose_the_model() -> None:
    template = torch.zeros(5, 3)
    frames = torch.arange(3.0)[:, None, None].expand(3, 5, 3) + 1.0  # frame k: every vertex at k + 1
    model, controls = controlled(template, frames)
    assert controls.pose_shown.value == "template"

    controls.pose_expression.value = TRAINING_FRAME
    controls.pose_position.value = 0.5  # the middle of three frames
    controls.apply()
    assert torch.equal(model.pose_vertices, frames[1]) and controls.pose_shown.value == "1 of 0..2"

    controls.show_frame(7)  # past the end: the last frame
    assert controls.pose_position.value == 1.0 and torch.equal(model.pose_vertices, frames[2])
    assert [frame_at(p, 3) for p in (0.0, 0.24, 0.26, 0.74, 0.76, 1.0, 1.5)] == [0, 0, 1, 1, 2, 2, 2]

    controls.pose_expression.value = ANIMATION  # nothing loaded yet: the template
    controls.apply()
    assert model.pose_vertices is model.template

    controls.pose_expression.value = TEMPLATE
    controls.apply()
    assert model.pose_vertices is model.template


def test_animate_button_loads_the_networks_meshes(speech: tuple) -> None:
    run, wav = speech
    network = load_run(run)
    template = network.template(None) + 0.5  # another head of the same topology
    linear = 2.0 * torch.eye(3)  # a dataparser that doubled the capture
    model, controls = controlled(template, template[None], linear)
    controls.speech_audio.value, controls.speech_network.value = str(wav), str(run)

    controls._on_animate(controls.speech_run_button)  # what a click calls
    predicted = network.predict_wav(wav)
    expected = template + 2.0 * (predicted - network.template(None))
    num = len(predicted)
    assert controls.speech_status.value == f"{num} frames at {network.feature.fps:g} fps"
    assert controls.pose_expression.value == ANIMATION and controls.pose_position.value == 0
    assert controls.pose_shown.value == f"0 of 0..{num - 1}"
    assert torch.allclose(model.pose_vertices, expected[0], atol=1e-6)
    assert (expected - template).abs().max() > 1e-3  # the network moves the mesh

    controls.show_frame(num - 1)
    assert torch.allclose(model.pose_vertices, expected[-1], atol=1e-6)
    # the same function drives ns-l2t animate --load-config
    assert torch.allclose(predict_avatar_motion(template, linear, run, wav).vertices, expected, atol=1e-6)

    controls.pose_expression.value = TRAINING_FRAME  # one training instant: the same slider position shows it
    controls.apply()
    assert controls.pose_shown.value == "0 of 0..0" and torch.equal(model.pose_vertices, template)


def test_animate_button_reports_errors_in_the_panel(speech: tuple, tmp_path: Path) -> None:
    run, wav = speech
    model, controls = controlled(torch.zeros(5, 3), torch.zeros(1, 5, 3))
    controls.speech_audio.value, controls.speech_network.value = str(wav), str(tmp_path)
    controls._on_animate(controls.speech_run_button)
    assert (
        controls.speech_status.value
        == f"error: {tmp_path}: not an ns-l2t run (no run.json): train one with ns-l2t train --output RUN"
    )
    controls.speech_network.value = str(run)  # a run for the 482-vertex head, an avatar of 5 vertices
    controls._on_animate(controls.speech_run_button)
    assert "predicts 482 vertices but the avatar's template has 5" in controls.speech_status.value
    assert controls.pose_expression.value == TEMPLATE and model.pose_vertices is model.template
