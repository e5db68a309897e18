"""deblurgs in the web viewer: its exposure controls are in the page and the slider moves the render."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.viewer.browser import Browser
from tests.viewer.conftest import assert_matches, save_screenshot, wait_for_frame

METHOD = "deblurgs"
CONTROLS = ("Show exposure sub-frame", "Exposure time", "Draw trajectories")
PAN_RAD = 0.2  # the test trajectories pan each camera by 0.2 rad (11 deg) over the exposure, from its pose


@pytest.fixture(scope="module")
def config(train_tiny) -> Path:
    # a free curve (the paper's): the test's pan starts at the camera's pose (anchored, mid-exposure would be there)
    return train_tiny(
        "deblurgs-small",
        30,
        "--pipeline.model.trajectory.num-subframes",
        3,
        "--pipeline.model.trajectory.mid-exposure",
        "free",
        degradation="motion-blur",
        degradation_options={"num_subframes": 4, "rotation_deg": 6.0},
    )


def pan_trajectories(model) -> None:
    """A known exposure motion (a pan about each camera's y axis, twist order (rho, omega)), starting
    at the camera's pose: 30 training steps barely move the curves, and the slider's effect must show."""
    control = model.trajectory.control
    ramp = torch.linspace(0.0, PAN_RAD, control.shape[1], device=control.device)
    with torch.no_grad():
        control.zero_()
        control[:, :, 4] = ramp


def test_exposure_slider_drives_the_render(config: Path, browser: Browser, show, screenshot_dir: Path) -> None:
    viewer, first = show(config)
    for label in CONTROLS:
        assert browser.has_label(label), f"{label!r} is not in the page"
    with viewer.lock:
        pan_trajectories(viewer.model)

    browser.set_checkbox("Show exposure sub-frame", True)  # renders the nearest training camera's sub-frame
    mid = wait_for_frame(browser, viewer, changed_from=first, what="the mid-exposure sub-frame")
    assert_matches(mid, viewer.reference(), "mid-exposure")

    browser.set_number("Exposure time", 0.0)
    opening = wait_for_frame(browser, viewer, changed_from=mid, what="the sub-frame at shutter opening")
    assert float(viewer.model.exposure_controls.exposure_time.value) == 0.0
    assert_matches(opening, viewer.reference(), "exposure time 0")
    assert_matches(
        opening, first, "exposure time 0 = the training camera's own pose"
    )  # the viewer looks through camera 0

    browser.set_number("Exposure time", 1.0)
    closing = wait_for_frame(browser, viewer, changed_from=opening, what="the sub-frame at shutter closing")
    assert_matches(closing, viewer.reference(), "exposure time 1")
    save_screenshot(browser, screenshot_dir, METHOD)


def test_draw_trajectories_button(config: Path, browser: Browser, show) -> None:
    viewer, first = show(config)
    browser.click_button("Draw trajectories")
    scene = viewer.viewer.viser_server.scene
    num_train = viewer.model.num_train_data

    def drawn() -> list:
        return sorted(n for n in scene._handle_from_node_name if n.startswith("/deblurgs/trajectory_"))

    # one polyline per training image (the callback adds them one by one)
    browser.wait(lambda: len(drawn()) == num_train, f"{num_train} trajectories in the scene", 60)
    assert drawn() == [f"/deblurgs/trajectory_{i:04d}" for i in range(num_train)]
