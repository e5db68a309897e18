"""learn2talk's Gaussian avatar in the web viewer: the page shows the bound Gaussians' render.

The avatar has no viewer controls yet (the issue asks for frame/audio controls): when its model
gets them, assert them here by label and drive them like test_deblurgs.py drives its slider.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.viewer.browser import Browser
from tests.viewer.conftest import BLANK_SPREAD, assert_matches, save_screenshot
from tests.viewer.frames import spread

METHOD = "learn2talk"


def head_capture(folder: Path) -> Path:
    from ns_plugins.learn2talk.avatar_synth import generate_avatar_dataset

    return generate_avatar_dataset(folder, num_train_frames=3, num_test_frames=2, num_cameras=3, width=32, height=32, mesh_resolution=16, supersample=2)


@pytest.fixture(scope="module")
def config(train_tiny) -> Path:
    return train_tiny("learn2talk-small", 30, "--steps-per-eval-all-images", 100000, make_data=head_capture)


def test_viewer_shows_the_avatar(config: Path, browser: Browser, show, screenshot_dir: Path) -> None:
    viewer, frame = show(config)
    assert spread(frame) > BLANK_SPREAD
    assert_matches(frame, viewer.reference(), "avatar rgb")
    save_screenshot(browser, screenshot_dir, METHOD)
