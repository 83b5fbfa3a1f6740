# Two entry points for people (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# `make demo PORT=8100 HOST=0.0.0.0 DATA_DIR=/tmp/demo`: each is passed on only when given.
PORT ?=
HOST ?=
DATA_DIR ?=
DEMO_ARGS ?=
DEMO_FLAGS = $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST)) \
	$(if $(DATA_DIR),--data-dir $(DATA_DIR))

.PHONY: demo test install install-dev lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime: what the demo needs (with the simulator, so its page works).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[sim]'
	touch $@

# Runtime plus test and lint tools.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,device,sim]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/safezone demo $(strip $(DEMO_FLAGS) $(DEMO_ARGS))

test: install-dev
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	for script in bench/*.py; do $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
