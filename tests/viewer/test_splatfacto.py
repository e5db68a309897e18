"""splatfacto-portable in the web viewer: the page connects and shows our backend's render."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.viewer.browser import Browser
from tests.viewer.conftest import BLANK_SPREAD, assert_matches, save_screenshot, wait_for_frame
from tests.viewer.frames import difference, spread
from tests.viewer.server import ViewerProcess

METHOD = "splatfacto-portable"


@pytest.fixture(scope="module")
def config(train_tiny) -> Path:
    return train_tiny(METHOD, 30)


def test_viewer_shows_the_render(config: Path, browser: Browser, show, screenshot_dir: Path) -> None:
    viewer, frame = show(config)
    assert spread(frame) > BLANK_SPREAD
    assert_matches(frame, viewer.reference(), "rgb")
    for label in ("Output type", "Max res", "Show Train Cams"):
        assert browser.has_label(label), label
    save_screenshot(browser, screenshot_dir, METHOD)


def test_ns_viewer_command(config: Path, browser: Browser, show, tmp_path: Path) -> None:
    """The user's command: ``ns-viewer --load-config`` serves the page, which connects and shows the
    render of viser's initial camera (the same camera the in-process viewer's client starts at)."""
    viewer, frame = show(config)  # the reference: same run, same window, back at viser's initial camera
    client = viewer.client()
    with client.atomic():
        client.camera.position, client.camera.wxyz = viewer.initial_camera
    wait_for_frame(browser, viewer, changed_from=frame, what="the initial view again")
    reference = viewer.reference()
    viewer.stop()
    browser.open(
        "about:blank"
    )  # the stopped viewer's page would keep drawing (a core of SwiftShader) while ns-viewer starts
    with ViewerProcess(config, tmp_path / "ns-viewer.log") as process:
        browser.open(process.url)
        try:
            browser.wait_connected()
            shown = browser.wait(
                lambda: (lambda area: area if spread(area) > BLANK_SPREAD else None)(browser.render_area()),
                "ns-viewer's first frame",
                120,
            )
            # the first frames are low-resolution previews: wait for one that matches the full render
            browser.wait(
                lambda: difference(browser.render_area(), reference)["corr"] > 0.9, "ns-viewer's full frame", 120
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nns-viewer log:\n{process.log_tail()}") from None
        assert_matches(browser.render_area(), reference, "ns-viewer")
        assert shown.shape[0] > 100
