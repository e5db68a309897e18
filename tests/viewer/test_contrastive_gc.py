"""contrastive-gc in the web viewer: feature PCA and cluster colours, click-to-select, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from plyfile import PlyData

from tests.viewer.browser import Browser
from tests.viewer.conftest import assert_matches, save_screenshot, wait_for_frame

METHOD = "contrastive-gc"
CONTROLS = (
    "Cluster Gaussians",
    "Selection similarity",
    "Select object (then click)",
    "Selection PLY",
    "Export selection",
)


@pytest.fixture(scope="module")
def config(train_tiny) -> Path:
    return train_tiny(
        "contrastive-gc-small", 60, "--steps-per-eval-all-images", 100000, degradation="inconsistent-masks"
    )


def show_output(browser: Browser, viewer, output: str, before):
    """Pick ``output`` in the Output type dropdown (once the viewer offers it); the page shows it."""
    browser.wait(lambda: output in browser.dropdown_options("Output type"), f"{output!r} among the outputs", 60)
    browser.select("Output type", output)
    frame = wait_for_frame(browser, viewer, changed_from=before, what=f"the {output} output")
    assert_matches(frame, viewer.reference(output), output)
    return frame


def object_pixel(viewer, controls, width: int, height: int):
    """A pixel of the render area whose ray hits an opaque Gaussian (what a user clicks on), scanning from the
    centre."""
    order = sorted(
        ((x, y) for x in range(4, width, 8) for y in range(4, height, 8)),
        key=lambda p: (p[0] - width / 2) ** 2 + (p[1] - height / 2) ** 2,
    )
    m = viewer.model
    for x, y in order:
        origin, direction = viewer.ray(x, y, width, height)
        import torch

        from ns_plugins.contrastive_gc.viewer import pick_gaussian

        with torch.no_grad():
            if (
                pick_gaussian(m.means, torch.sigmoid(m.opacities).reshape(-1), torch.exp(m.scales), origin, direction)
                is not None
            ):
                return x, y
    raise AssertionError("no pixel of the view hits an opaque Gaussian")


def test_segmentation_controls(config: Path, browser: Browser, show, screenshot_dir: Path, tmp_path: Path) -> None:
    viewer, rgb = show(config)
    controls = viewer.model.segmentation_controls
    for label in CONTROLS:
        assert browser.has_label(label), f"{label!r} is not in the page"

    pca = show_output(browser, viewer, "seg_pca", rgb)

    browser.click_button("Cluster Gaussians")
    browser.wait(lambda: controls.clustering is not None, "the clustering", 60)
    show_output(browser, viewer, "seg_clusters", pca)
    save_screenshot(browser, screenshot_dir, METHOD)

    # click-to-select: arm the click, then click an object in the render area
    browser.select("Output type", "rgb")
    rgb = wait_for_frame(browser, viewer, changed_from=None, what="the rgb output again")
    browser.click_button("Select object (then click)")
    height, width = rgb.shape[:2]
    x, y = object_pixel(viewer, controls, width, height)
    browser.click_render_area(x, y)
    browser.wait(lambda: controls.selected_feature is not None, "the click to select an object", 30)
    selected = int(controls.selected_gaussians().sum())
    assert 0 < selected < viewer.model.num_points
    show_output(browser, viewer, "seg_selection", rgb)

    out = tmp_path / "chosen.ply"
    browser.set_text("Selection PLY", str(out))
    browser.wait(lambda: controls.export_path.value == str(out), "the PLY path to reach the server", 20)
    browser.click_button("Export selection")
    browser.wait(lambda: out.exists() and out.stat().st_size > 0, f"{out} to be written", 30)
    assert PlyData.read(str(out))["vertex"].count == selected
