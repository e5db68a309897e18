# The two commands that set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ns-plugins-installed

.PHONY: install demo demo-splat lint test bench clean

install: $(STAMP)

# torch first, from the pinned versions (a CUDA build of 2.14.1 runs on the CPU too),
# then the package; then the C++ compositing kernel of the CPU rasterizer is compiled once, and
# where the system lacks them ffmpeg (for ns-render) and libusb (for open3d) are linked into the venv.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m ns_plugins.splat.build_kernels
	$(PY) -m ns_plugins.splat.native_libs
	touch $(STAMP)

# the deblurring demo: blurred synthetic scene -> deblurgs on CPU -> sharp video + PSNRs
demo: install
	$(PY) -m ns_plugins.deblurgs.demo --output-dir demo

# the base method alone (splatfacto-portable) on a clean synthetic scene
demo-splat: install
	$(PY) -m ns_plugins.demo --output-dir demo-splat

# ruff (format check, then lint) and pyright (basic), as configured in pyproject.toml; pyright's
# "newer version" notice would ask PyPI each run: the version is pinned, so it is switched off
lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright

# lint first; the viewer's browser tests need the system's chromium + chromedriver: installed here
# when we are root with apt-get; if that fails (no network), those tests are skipped and say why
test: install lint
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! { command -v chromium && command -v chromedriver; } >/dev/null; then \
	  echo "installing chromium and chromium-driver for the viewer tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 \
	    || echo "could not install chromium: the viewer browser tests will be skipped"; \
	fi
	$(PY) -m pytest -q --durations=10

bench: install
	$(PY) benchmarks/bench_rasterizer.py --write

clean:
	rm -rf demo demo-splat outputs .pytest_cache ns_plugins/splat/_build
