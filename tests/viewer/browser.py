"""Headless Chromium (the system's, through Selenium and the system chromedriver) pointed at viser.

Nothing is downloaded: the browser and its driver come from the Debian packages ``chromium`` and
``chromium-driver`` (``make test`` installs them when it runs as root). Every wait polls a condition
under a timeout and fails with the browser's console tail; ``close`` quits the driver and then
kills its process group, so no chromium outlives the test session even when a test fails.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, TypeVar

import numpy as np
from PIL import Image

T = TypeVar("T")

# every host except the test server is unresolvable: the page's analytics and logo URLs fail fast
OFFLINE_HOSTS = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# the control panel floats over the right of the canvas; viser fits the render to the rest: the
# panel is the first ancestor of its "Connected" status that is most of the window tall
PANEL_LEFT_JS = """
const status = [...document.querySelectorAll('*')].find(
  e => e.childElementCount === 0 && e.textContent.trim() === 'Connected');
let panel = status;
while (panel && panel.getBoundingClientRect().height < 0.6 * window.innerHeight) panel = panel.parentElement;
return panel ? panel.getBoundingClientRect().left : null;
"""


def chromium_path() -> Optional[str]:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def missing_requirement() -> Optional[str]:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the Python package selenium is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no chromium executable on PATH (apt-get install chromium chromium-driver)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


def kill_group(proc: Optional[subprocess.Popen], grace_s: float = 5.0) -> None:
    """SIGTERM a process started with ``start_new_session=True`` and its whole group, SIGKILL if it lingers."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(grace_s)
            # the leader is gone; its children (chromium's renderers, ...) may not be
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        except subprocess.TimeoutExpired:
            continue


def png_to_array(png: bytes) -> np.ndarray:
    """[H, W, 3] float in [0, 1] from PNG bytes."""
    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


class Browser:
    """One headless Chromium for the session; ``open`` points it at a viewer."""

    def __init__(self, width: int = 640, height: int = 400, timeout_s: float = 60.0) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.timeout_s = timeout_s
        options = webdriver.ChromeOptions()
        binary = chromium_path()
        assert binary is not None, "no chromium: missing_requirement() says so before a Browser is made"
        options.binary_location = binary
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--mute-audio",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            # viser draws into a WebGL canvas: without a GPU that is SwiftShader, which chromium now gates
            "--enable-unsafe-swiftshader",
            "--use-angle=swiftshader",
            "--ignore-gpu-blocklist",
            f"--host-resolver-rules={OFFLINE_HOSTS}",
            f"--window-size={width},{height}",
        ):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # its own process group: close() can kill chromedriver and every chromium it started
        self.service = Service(executable_path=shutil.which("chromedriver"), popen_kw={"start_new_session": True})
        try:
            self.driver = webdriver.Chrome(options=options, service=self.service)
            self.driver.set_page_load_timeout(timeout_s)
            self.driver.set_script_timeout(timeout_s)
            # an exact viewport (a headless window's size includes chrome the page does not get)
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.close()
            raise

    # ---- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        driver = getattr(self, "driver", None)  # absent when chromium did not start
        try:
            if driver is not None:
                driver.quit()
        except Exception:
            pass
        finally:
            kill_group(getattr(self.service, "process", None))

    def open(self, url: str) -> None:
        self.driver.get(url)

    def console_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(e["message"] for e in self.driver.get_log("browser")[-n:])
        except Exception as exc:  # a dead browser must not hide the original failure
            return f"(no console: {exc})"

    def wait(
        self, condition: Callable[[], Optional[T]], what: str, timeout_s: Optional[float] = None, poll_s: float = 0.2
    ) -> T:
        """Poll ``condition`` until it returns a result (not None/False/empty); fail naming ``what`` after the
        timeout."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        last_error: Optional[Exception] = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value is not None and value is not False and not (isinstance(value, (list, str)) and not value):
                    return value
            except Exception as exc:  # the page may be mid-update (stale elements)
                last_error = exc
            time.sleep(poll_s)
        raise AssertionError(
            f"timed out waiting for {what} (last error: {last_error})\nbrowser console:\n{self.console_tail()}"
        )

    # ---- what the user sees ----------------------------------------------------------------

    def page_text(self) -> str:
        return self.driver.find_element("tag name", "body").text

    def has_label(self, label: str) -> bool:
        """A control labelled ``label`` (a field's label or a button's text) is in the page."""
        xpath = f"//label[normalize-space()='{label}'] | //button[normalize-space()='{label}']"
        return bool(self.driver.find_elements("xpath", xpath))

    def wait_connected(self) -> None:
        """viser's status reads "Connected" once its websocket is up and the GUI has arrived."""
        self.wait(
            lambda: "Connected" in self.page_text() and self.has_label("Output type"), "the viewer page to connect"
        )

    def canvas(self):
        """The WebGL canvas the viewer draws the rendered frames into (the largest canvas)."""
        canvases = self.driver.find_elements("tag name", "canvas")
        return max(canvases, key=lambda c: c.size["width"] * c.size["height"])

    def render_area(self) -> np.ndarray:
        """[H, W, 3] float: what the render area shows now (the canvas left of the control panel)."""
        canvas = self.canvas()
        image = png_to_array(canvas.screenshot_as_png)
        panel_left = self.driver.execute_script(PANEL_LEFT_JS)
        visible = (
            int(round((panel_left - canvas.rect["x"]) * image.shape[1] / canvas.rect["width"]))
            if panel_left
            else image.shape[1]
        )
        return image[:, : max(1, min(visible, image.shape[1]))]

    def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG, the pointer parked on the title bar (no hover tooltip over the panel)."""
        from selenium.webdriver.common.action_chains import ActionChains

        body = self.driver.find_element("tag name", "body")
        ActionChains(self.driver).move_to_element_with_offset(
            body, 5 - body.rect["width"] // 2, 5 - body.rect["height"] // 2
        ).perform()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(self.driver.get_screenshot_as_png())
        return Path(path)

    # ---- controls --------------------------------------------------------------------------

    def _field(self, label: str):
        """The input a ``<label for=...>`` names, else the first input of the label's row (viser's text fields)."""
        target = self.driver.find_element("xpath", f"//label[normalize-space()='{label}']").get_attribute("for")
        found = self.driver.find_elements("id", target) if target else []
        return (
            found[0] if found else self._row(label).find_element("xpath", ".//input[not(@type='hidden')] | .//textarea")
        )

    def field_value(self, label: str) -> Optional[str]:
        """What a field (text box, dropdown, slider's number box) shows now."""
        return self._field(label).get_attribute("value")

    def slider_max(self, label: str) -> float:
        """The upper end of a slider as the page has it (its thumb's aria-valuemax)."""
        value = self._row(label).find_element("xpath", ".//*[@role='slider']").get_attribute("aria-valuemax")
        assert value is not None, f"the slider {label!r} has no aria-valuemax"
        return float(value)

    def _row(self, label: str):
        """The GUI row (label + widgets) of a control."""
        return self.driver.find_element(
            "xpath", f"//label[normalize-space()='{label}']/ancestor::div[contains(@class, 'mantine-Flex-root')][1]"
        )

    def click_button(self, text: str) -> None:
        button = self.driver.find_element("xpath", f"//button[normalize-space()='{text}']")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.click()

    def set_number(self, label: str, value: float) -> None:
        """Type a value into a slider's number box (what a user does for an exact value) and press Enter."""
        from selenium.webdriver.common.keys import Keys

        box = self._row(label).find_element("xpath", ".//input[contains(@class, 'mantine-NumberInput-input')]")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
        box.click()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(str(value), Keys.ENTER)

    def set_text(self, label: str, text: str) -> None:
        """Replace a text field's content (viser sends it on every keystroke)."""
        from selenium.webdriver.common.keys import Keys

        field = self._field(label)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(text)

    def click_render_area(self, x: float, y: float) -> None:
        """A left click at pixel (x, y) of the render area (as ``render_area`` returns it)."""
        from selenium.webdriver.common.action_chains import ActionChains

        canvas = self.canvas()
        # selenium offsets are from the element's centre, in CSS pixels
        dx = x + 0.5 - canvas.rect["width"] / 2
        dy = y + 0.5 - canvas.rect["height"] / 2
        ActionChains(self.driver).move_to_element_with_offset(canvas, int(dx), int(dy)).click().perform()

    def set_checkbox(self, label: str, checked: bool) -> None:
        box = self._field(label)
        if box.is_selected() != checked:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
            self.driver.execute_script("arguments[0].click();", box)

    def dropdown_options(self, label: str) -> list:
        """The options of a dropdown, read by opening it."""
        from selenium.webdriver.common.keys import Keys

        field = self._field(label)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
        field.click()
        listbox = field.get_attribute("aria-controls")
        options = self.wait(
            lambda: [o.text for o in self.driver.find_elements("xpath", f"//*[@id='{listbox}']//*[@role='option']")],
            f"the options of {label!r}",
        )
        field.send_keys(Keys.ESCAPE)
        return options

    def select(self, label: str, option: str) -> None:
        """Open a dropdown and click one of its options."""
        field = self._field(label)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
        field.click()
        listbox = field.get_attribute("aria-controls")
        xpath = f"//*[@id='{listbox}']//*[@role='option'][normalize-space()='{option}']"
        self.wait(lambda: self.driver.find_elements("xpath", xpath), f"option {option!r} of {label!r}")[0].click()
        self.wait(lambda: self.field_value(label) == option, f"{label!r} to read {option!r}")
