# Two entry points for a fresh machine: `make demo` (set up, deblur the bundled sample) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-quick clean

setup: $(STAMP)

# torch is installed first and pinned so that nothing later resolves a newer (CUDA) build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vdeblur demo --output out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# For the edit-test loop; CI and `make test` run everything.
test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) out
