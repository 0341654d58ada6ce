# `make demo`: set up and run the main job (tokenize a speech clip, print and save the ids, decode them back).
# `make test`: set up and run the test suite.
# On a CPU-only machine without a local torch wheel, pick PyTorch's CPU build, e.g.
#   make test TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
MODEL ?= facebook/encodec_24khz
# pytest-xdist workers for `make test` (auto: one per CPU core); TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto

.PHONY: setup demo test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: setup
	$(PY) scripts/demo.py --model $(MODEL) --out demo_out

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -n $(TEST_WORKERS)

lint: setup
	$(VENV)/bin/ruff check audiotok tests scripts
	$(VENV)/bin/mypy audiotok

clean:
	rm -rf $(VENV) demo_out .pytest_cache .mypy_cache .ruff_cache
