# The two commands that set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ns-plugins-installed

.PHONY: install demo test bench clean

install: $(STAMP)

# torch first, from the pinned versions (a CUDA build of 2.14.1 runs on the CPU too),
# then the package; then the C++ compositing kernel of the CPU rasterizer is compiled once.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m ns_plugins.splat.build_kernels
	$(PY) -c "from ns_plugins.splat.native_libs import main; main()"
	touch $(STAMP)

demo: install
	$(PY) -m ns_plugins.demo --output-dir demo

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_rasterizer.py --write

clean:
	rm -rf demo outputs .pytest_cache ns_plugins/splat/_build
