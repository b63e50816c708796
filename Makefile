# Two entry points, each sets itself up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv, install minitorch with every extra, run the main demo
#   make test   - the same set-up, then the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint student clean course-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	bash scripts/ensure-graphviz.sh
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python -m minitorch.demo

test: setup
	$(BIN)/python -m pytest -q

# Leave-one-out: for every task, the reference with only that task stubbed fails exactly that task.
course-check: setup
	$(BIN)/python -m pytest -q -m course
	$(BIN)/python -m assignments course-check --max-examples 5

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
