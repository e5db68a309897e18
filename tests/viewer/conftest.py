"""Browser tests of the web viewer: fixtures shared by the per-method modules.

- ``browser``: one headless Chromium for the session (skipped, with the reason, when selenium,
  chromium or chromedriver is missing); always closed, its process group killed.
- ``train_tiny``: trains a method for a few dozen steps on a 32 px synthetic scene (skipped when the
  method's entry point is not registered), one run per method per session; ``ns-train``'s own
  entry (its command line, parsed by tyro, then ``nerfstudio.scripts.train.main``) runs in this
  process, which has already paid the ~6 s of imports a fresh ``ns-train`` process costs.
- ``show``: opens an in-process viewer of a run in the browser and waits for its first full frame.
- ``--viewer-screenshots DIR``: also save each method's screenshot as DIR/viewer_<method>.png
  (``benchmarks/viewer_screenshots.py`` uses it to refresh docs/).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import numpy as np
import pytest

from ns_plugins.data.synth_cli import generate_dataset
from tests.cli import train_args
from tests.viewer.browser import Browser, missing_requirement
from tests.viewer.frames import COMPARE_WIDTH, difference, spread
from tests.viewer.server import InProcessViewer

SIZE = 32
BLANK_SPREAD = 0.02  # std of the pixel values: a one-colour area is below 0.005
MAX_RES = 320  # the render area is 320x348 px in the 640x400 window: no need for the default 512
FRAME_TIMEOUT_S = 120.0  # generous: a failure bound, not a duration (frames take ~1 s)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--viewer-screenshots", default=None, help="directory to save viewer_<method>.png screenshots into"
    )


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread in these tests (restored after each module).

    On 2 cores, with chromium's SwiftShader drawing the open page on one of them, a second OpenMP
    thread mostly spins waiting for a core: measured under load, the 60 tiny training steps of
    contrastive-gc took 44 s of CPU with 2 threads and 1 s with 1.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def registered_methods() -> set:
    return {ep.name for ep in entry_points(group="nerfstudio.method_configs")}


def require_method(method: str) -> None:
    if method not in registered_methods():
        pytest.skip(
            f"{method} is not registered (no nerfstudio.method_configs entry point): its viewer test waits for it"
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = missing_requirement()
    if reason:
        pytest.skip(f"browser tests need a headless browser: {reason}")
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def ns_train_in_process(args: list) -> None:
    """``ns-train ARGS`` (without the program name) in this process, as its entrypoint runs them.

    nerfstudio keeps the run's writers and profiler in module globals: they are closed and dropped
    afterwards, so a later run does not log into this one's folders.
    """
    import tyro
    from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion
    from nerfstudio.scripts.train import main
    from nerfstudio.utils import profiler, writer

    config = tyro.cli(AnnotatedBaseConfigUnion, args=[str(a) for a in args])
    try:
        main(config)
    finally:
        for event_writer in writer.EVENT_WRITERS:
            tb_writer = getattr(event_writer, "tb_writer", None)
            if tb_writer is not None:
                tb_writer.close()
        writer.EVENT_WRITERS.clear()
        profiler.PROFILER.clear()


@pytest.fixture(scope="session")
def train_tiny(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``train_tiny(method, steps, *ns_train_args, degradation=..., make_data=...) -> config.yml``, one run per method.

    The data is a 32 px synthetic scene with ``degradation`` (``ns-plugins-synth``), or what
    ``make_data(folder) -> dataset path`` writes; skipped when ``method`` is not registered.
    """
    runs: Dict[str, Path] = {}

    def train(
        method: str,
        steps: int,
        *extra: object,
        degradation: str = "none",
        degradation_options: Optional[dict] = None,
        make_data: Optional[Callable[[Path], Path]] = None,
    ) -> Path:
        require_method(method)
        if method not in runs:
            root = tmp_path_factory.mktemp(f"viewer_{method}")
            if make_data is not None:
                data = make_data(root / "data")
            else:
                data = generate_dataset(
                    root / "data",
                    seed=3,
                    num_train=6,
                    num_test=2,
                    width=SIZE,
                    height=SIZE,
                    num_seed_points=800,
                    degradation=degradation,
                    degradation_options=degradation_options,
                )
            ns_train_in_process(train_args(method, data, root / "outputs", "viewer", steps, *extra)[1:])
            runs[method] = next((root / "outputs").glob("viewer/*/t/config.yml"))
        return runs[method]

    return train


@pytest.fixture(scope="session")
def screenshot_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    option = request.config.getoption("--viewer-screenshots")
    return Path(option) if option else tmp_path_factory.mktemp("viewer_screenshots")


def wait_for_frame(
    browser: Browser,
    viewer: InProcessViewer,
    changed_from: Optional[np.ndarray] = None,
    what: str = "the first frame",
    allow_blank: bool = False,
) -> np.ndarray:
    """The render area once the viewer has sent its full-resolution frame and the page shows it, steadily.

    ``changed_from``: also wait until the area differs from this earlier capture (a control took effect).
    ``allow_blank``: a one-colour frame counts too (an output that may be uniform, e.g. an untrained layer).
    """
    browser.wait(viewer.settled, f"the viewer to render {what}", FRAME_TIMEOUT_S)
    previous = [browser.render_area()]

    def shown() -> Optional[np.ndarray]:
        now = browser.render_area()
        steady = now.shape == previous[0].shape and difference(now, previous[0])["mad"] < 0.004
        previous[0] = now
        if not steady or (spread(now) < BLANK_SPREAD and not allow_blank) or not viewer.settled():
            return None
        if changed_from is not None and difference(now, changed_from)["mad"] < 0.01:
            return None
        return now

    return browser.wait(shown, f"{what} in the page", FRAME_TIMEOUT_S, poll_s=0.3)


@pytest.fixture(scope="module")
def show(browser: Browser) -> Iterator[Callable[[Path], tuple]]:
    """``show(config) -> (viewer, frame)``: the run in an in-process viewer, open in the browser, and the
    frame it shows now. One viewer per run and test module (loading a run costs seconds), stopped after it."""
    viewers: Dict[Path, InProcessViewer] = {}

    def open_(config: Path) -> tuple:
        if config in viewers:
            return viewers[config], wait_for_frame(browser, viewers[config], what="the current frame")
        for viewer in viewers.values():
            viewer.stop()
        viewers.clear()
        viewer = viewers[config] = InProcessViewer(config)
        viewer.viewer.control_panel._max_res.value = MAX_RES
        browser.open(viewer.url)
        browser.wait_connected()
        browser.click_button("Hide Train Cams")  # the frustums would cover parts of the render
        initial = wait_for_frame(browser, viewer)
        client = viewer.client()
        assert client is not None  # the page connected
        viewer.initial_camera = (client.camera.position, client.camera.wxyz)
        # viser's start camera may sit inside a small scene: look through training camera 0 instead
        viewer.look_through_train_camera(0)
        return viewer, wait_for_frame(browser, viewer, changed_from=initial, what="the view of training camera 0")

    try:
        yield open_
    finally:
        for viewer in viewers.values():
            viewer.stop()
        if viewers:
            browser.open("about:blank")  # drop the stopped viewer's page


def assert_matches(shown: np.ndarray, reference: np.ndarray, what: str, width: int = COMPARE_WIDTH) -> Dict[str, float]:
    """The page shows ``reference`` (loosely: JPEG, scaling, colour management).

    Colours within 0.05 on average; and, where the reference has any structure (a near-uniform
    image has no meaningful correlation), a correlation above 0.85 (measured: 0.90-0.99 for the
    right image, 0.37 for the right scene seen from the wrong camera).
    """
    d = difference(shown, reference, width)
    structured = spread(reference) > BLANK_SPREAD
    assert d["mad"] < 0.05 and (d["corr"] > 0.85 or not structured), (
        f"{what}: the page differs from our backend's render of the same camera: {d}"
    )
    return d


def save_screenshot(browser: Browser, screenshot_dir: Path, method: str) -> Path:
    """The whole page (render area + control panel) as ``viewer_<method>.png``, palette-compressed (~50-100 KB)."""
    from PIL import Image

    path = browser.screenshot(screenshot_dir / f"viewer_{method}.png")
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    assert 5_000 < path.stat().st_size < 150_000, path.stat().st_size
    return path
