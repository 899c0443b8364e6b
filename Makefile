# Two entry points (see README.md): `make run` (the main job) and `make test` (the test suite).
# Each creates .venv and installs the project with everything it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[notebooks,test]'
	touch $(STAMP)

## main job: embed ResNet18's neurons (offline default: random weights, synthetic images)
run: $(STAMP)
	$(BIN)/python -m skdlib embed --out runs/offline

## the whole test suite: lint + format check + pytest
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## benchmarks (never part of the tests): prints side-by-side timings on this machine
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_foundation.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
