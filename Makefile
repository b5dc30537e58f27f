# Two entry points: `make demo` (the main job on synthetic data) and `make test`.
# Both create .venv when missing and install from requirements.lock; the stamp file makes the
# second run a no-op unless pyproject.toml or requirements.lock changed.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.dermkit-installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dermkit demo $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

bench: $(STAMP)
	$(PY) -m pytest benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
