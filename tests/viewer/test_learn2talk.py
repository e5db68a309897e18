"""learn2talk's Gaussian avatar in the web viewer: the render, and the controls that pose it.

The "Expression" dropdown and the "Sequence position" slider pose the avatar on the template, a training
instant's tracked mesh or a speech animation; "Animate from speech" runs a tiny ns-l2t run's
audio-to-vertices network on a .wav typed into the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ns_plugins.learn2talk.avatar.dataparser import CAPTURE_LINEAR_KEY, FRAMES_KEY
from ns_plugins.learn2talk.avatar.motion import predict_avatar_motion
from ns_plugins.learn2talk.avatar.viewer import EXPRESSIONS
from tests.learn2talk.speech_run import MESH_RESOLUTION, tiny_speech_run
from tests.viewer.browser import Browser
from tests.viewer.conftest import BLANK_SPREAD, assert_matches, save_screenshot, wait_for_frame
from tests.viewer.frames import spread

METHOD = "learn2talk"
CONTROLS = (
    "Expression",
    "Sequence position",
    "Frame shown",
    "Speech (.wav)",
    "ns-l2t run",
    "Animate from speech",
    "Animation status",
)


HEAD_OFFSETS = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
"""The head moves 0.3 to the side at training instant 2: talking alone moves the synthetic mesh by
< 0.1, which changes a 64 px comparison of the view by ~0.002, below what counts as a new frame."""


def head_capture(folder: Path) -> Path:
    from ns_plugins.learn2talk.synth.avatar_capture import generate_avatar_dataset

    return generate_avatar_dataset(
        folder,
        num_train_frames=3,
        num_test_frames=2,
        num_cameras=3,
        width=32,
        height=32,
        mesh_resolution=MESH_RESOLUTION,
        supersample=2,
        head_offsets=HEAD_OFFSETS,
    )


@pytest.fixture(scope="module")
def config(train_tiny) -> Path:
    return train_tiny("learn2talk-small", 30, "--steps-per-eval-all-images", 100000, make_data=head_capture)


def wait_posed(browser: Browser, viewer, vertices: torch.Tensor, what: str) -> None:
    """The server has posed the model on ``vertices`` [V, 3] (the controls' callbacks run in a thread)."""
    model = viewer.model
    browser.wait(
        lambda: torch.allclose(model.pose_vertices.cpu(), vertices, atol=1e-6), f"the avatar posed on {what}", 30
    )


def test_viewer_shows_the_avatar(config: Path, browser: Browser, show) -> None:
    viewer, frame = show(config)
    assert spread(frame) > BLANK_SPREAD
    assert_matches(frame, viewer.reference(), "avatar rgb")


def test_expression_and_frame_controls_pose_the_avatar(
    config: Path, browser: Browser, show, screenshot_dir: Path
) -> None:
    viewer, template_view = show(config)
    for label in CONTROLS:
        assert browser.has_label(label), f"{label!r} is not in the page"
    assert browser.dropdown_options("Expression") == EXPRESSIONS
    controls, model = viewer.model.avatar_controls, viewer.model
    frames = viewer.pipeline.datamanager.train_dataset.metadata[FRAMES_KEY]
    # the two instants furthest from the template and from each other: their renders must differ visibly
    moved = (frames - model.template.cpu()).norm(dim=-1).amax(-1)
    far = int(moved.argmax())
    other = int((frames - frames[far]).norm(dim=-1).amax(-1).argmax())

    browser.select("Expression", "training frame")
    controls.show_frame(far)  # the server-side handle (a slider drag is not reliably scriptable)
    wait_posed(browser, viewer, frames[far], f"training frame {far}")
    shown_far = wait_for_frame(browser, viewer, changed_from=template_view, what=f"training frame {far}")
    assert_matches(shown_far, viewer.reference(), f"training frame {far}")
    save_screenshot(browser, screenshot_dir, METHOD)  # the panel is scrolled to the avatar's controls

    controls.show_frame(other)
    wait_posed(browser, viewer, frames[other], f"training frame {other}")
    shown_other = wait_for_frame(browser, viewer, changed_from=shown_far, what=f"training frame {other}")
    assert_matches(shown_other, viewer.reference(), f"training frame {other}")

    controls.show_frame(far)
    wait_posed(browser, viewer, frames[far], f"training frame {far} again")
    again = wait_for_frame(browser, viewer, changed_from=shown_other, what=f"training frame {far} again")
    assert_matches(again, shown_far, f"training frame {far} again")

    browser.select("Expression", "template")
    wait_posed(browser, viewer, model.template.cpu(), "the template")
    back = wait_for_frame(browser, viewer, changed_from=again, what="the template again")
    assert_matches(back, template_view, "the template again")


def test_animate_from_speech(config: Path, browser: Browser, show, tmp_path: Path) -> None:
    run, wav = tiny_speech_run(tmp_path)
    viewer, _ = show(config)
    controls = viewer.model.avatar_controls
    browser.set_text("Speech (.wav)", str(wav))
    browser.set_text("ns-l2t run", str(run))
    browser.wait(
        lambda: (controls.speech_audio.value, controls.speech_network.value) == (str(wav), str(run)),
        "the paths to reach the server",
        20,
    )
    browser.click_button("Animate from speech")
    status = browser.wait(
        lambda: controls.speech_status.value if "frames at" in controls.speech_status.value else None,
        "the animation",
        60,
    )
    animation = controls.sequence()
    last = len(animation) - 1
    assert status == f"{last + 1} frames at 25 fps" and last > 10
    linear = viewer.pipeline.datamanager.train_dataset.metadata[CAPTURE_LINEAR_KEY]
    assert torch.allclose(
        animation, predict_avatar_motion(viewer.model.template.cpu(), linear, run, wav).vertices, atol=1e-6
    )
    browser.wait(lambda: browser.field_value("Animation status") == status, "the status in the page", 20)
    browser.wait(lambda: browser.field_value("Expression") == "animation", "the page to show the animation", 20)
    # the page's position slider spans the animation: its end is the last frame
    browser.set_number("Sequence position", 1)
    browser.wait(lambda: controls.pose_position.value == 1, "the slider's end to reach the server", 20)
    browser.wait(
        lambda: browser.field_value("Frame shown") == f"{last} of 0..{last}", "the page to name the last frame", 20
    )
    wait_posed(browser, viewer, animation[last], f"animation frame {last}")
    shown = wait_for_frame(browser, viewer, what=f"animation frame {last}")
    assert_matches(shown, viewer.reference(), f"animation frame {last}")
