"""rainyscape in the web viewer: switching the output to ``rain`` shows the predicted rain layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.viewer.browser import Browser
from tests.viewer.conftest import assert_matches, save_screenshot, wait_for_frame
from tests.viewer.frames import difference

METHOD = "rainyscape"
NEAREST = "Rain of the nearest training view"


@pytest.fixture(scope="module")
def config(train_tiny) -> Path:
    return train_tiny("rainyscape-small", 40, degradation="rain")


def test_rain_output(config: Path, browser: Browser, show, screenshot_dir: Path) -> None:
    viewer, clean = show(config)
    assert browser.has_label(NEAREST)
    assert {"rgb", "rain", "rainy"} <= set(browser.dropdown_options("Output type"))
    browser.set_checkbox(NEAREST, True)  # rain exists for training views: show the nearest one's
    browser.wait(lambda: viewer.model.rain_controls.use_nearest, "the checkbox to reach the server", 20)

    browser.select("Output type", "rain")
    rain = wait_for_frame(browser, viewer, changed_from=clean, what="the rain layer", allow_blank=True)
    # a barely trained rain net paints a pixel-scale colour pattern that the viewer's JPEG frames
    # (4:2:0 chroma) smear: no correlation floor, but the page must show the rain layer's colours,
    # far closer to it than to the clean render it replaced
    reference = viewer.reference("rain")
    to_rain, to_clean = difference(rain, reference, 16), difference(rain, viewer.reference("rgb"), 16)
    assert to_rain["mad"] < 0.05 and to_rain["mad"] < 0.5 * to_clean["mad"], (to_rain, to_clean)

    browser.select("Output type", "rainy")
    rainy = wait_for_frame(browser, viewer, changed_from=rain, what="the rainy composite")
    assert_matches(rainy, viewer.reference("rainy"), "rainy")
    save_screenshot(browser, screenshot_dir, METHOD)
