# Two entry points, each sets itself up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv, install minitorch with every extra, run the main demo
#   make test   - the same set-up, then the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint student clean course-check course-grade

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

# The course's own check (assignments/course_check.py), a step of CI: every task's tests run
# its own code and only the tasks it declares in tasks.toml (a probe run, then leave-one-out).
course-check: setup
	$(BIN)/python -m pytest -q -m course

# Three full gradings, a step of CI (about 10 minutes on 2 cores): the student and do-nothing
# versions score 0, the reference scores full marks.
course-grade: setup
	$(BIN)/python -m pytest -q -m grading

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
