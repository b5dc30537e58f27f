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

.PHONY: install browser demo lint test bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing dermkit and its pinned dependencies into $(VENV) (first time: a few minutes)"
	$(PIP) install -r requirements.lock 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	$(PIP) install --no-deps --no-build-isolation -e . 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@touch $@

install: $(STAMP) browser

# Debian's chromium and chromium-driver: dermkit serve's browser tests run on them, and `make test`
# must run those tests, not skip them. Installed with apt-get (as root, or with sudo) when missing.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "error: chromium and chromium-driver are missing and this user can neither apt-get nor sudo;" \
	  "run: sudo apt-get install -y chromium chromium-driver (the browser tests of dermkit serve need them)" >&2; exit 1; fi; \
	if ! command -v apt-get >/dev/null; then echo "error: chromium is missing and there is no apt-get; install" \
	  "chromium and its webdriver with this system's package manager (/usr/bin/chromium is used)" >&2; exit 1; fi; \
	echo "installing Debian's chromium and chromium-driver (the browser tests of dermkit serve)"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
	  || { echo "error: apt-get could not install chromium chromium-driver; install them by hand and re-run make" >&2; exit 1; }

demo: $(STAMP)
	$(VENV)/bin/dermkit demo $(ARGS)

# ruff's settings live in pyproject.toml ([tool.ruff]).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: lint browser
	$(PY) -m pytest $(ARGS)

bench: $(STAMP)
	$(PY) -m pytest benchmarks/bench_synthetic.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
