# shapecheck: `make run` serves, `make test` tests. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export HOST PORT

.PHONY: run test lint bench bench-load fixtures clean

$(STAMP): pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e './client[h5]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py 'shapecheck.api:create_app()'

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/forward.py

bench-load: $(STAMP)
	$(BIN)/python bench/load.py

# Dev only: regenerate the golden fixtures with real Keras 3 (jax backend). Needs the network
# to the package index once; CI never runs this.
KERAS_VENV := .keras-venv
fixtures:
	test -x $(KERAS_VENV)/bin/python || $(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/python -m pip install --quiet keras jax jaxlib numpy
	KERAS_BACKEND=jax $(KERAS_VENV)/bin/python tools/keras_fixtures/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
