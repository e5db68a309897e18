"""Refresh the README's viewer screenshots (docs/viewer_<method>.png) with the browser tests.

    .venv/bin/python benchmarks/viewer_screenshots.py            # every registered method
    .venv/bin/python benchmarks/viewer_screenshots.py -k deblurgs

Runs tests/viewer with ``--viewer-screenshots docs``: each method's test trains its tiny run, opens
it in headless Chromium, drives its controls and saves the page (640x400) once it shows the
method's own output. Needs chromium + chromium-driver (see the README's viewer section).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list) -> int:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(ROOT / "tests" / "viewer"),
        "--viewer-screenshots",
        str(docs),
        *argv,
    ]
    code = subprocess.call(cmd, cwd=ROOT)
    for png in sorted(docs.glob("viewer_*.png")):
        print(f"{png.relative_to(ROOT)}: {png.stat().st_size // 1024} KB")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
