# Two entry points: `make demo` (the main job on synthetic data) and `make test` (lint, then pytest).
# Both create .venv when missing and install from requirements.lock (ruff included); the stamp file
# makes the second run a no-op unless pyproject.toml or requirements.lock changed.
SHELL := bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.dermkit-installed

.PHONY: install demo lint test bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing dermkit and its pinned dependencies into $(VENV) (first time: a few minutes)"
	$(PIP) install -r requirements.lock 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	$(PIP) install --no-deps --no-build-isolation -e . 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dermkit demo $(ARGS)

# ruff's settings live in pyproject.toml ([tool.ruff]).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: lint
	$(PY) -m pytest $(ARGS)

bench: $(STAMP)
	$(PY) -m pytest benchmarks/bench_synthetic.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
