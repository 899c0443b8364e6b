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

## main job: every tutorial notebook, profile quick (offline, CPU), headless -> runs/quick/
run: $(STAMP)
	$(BIN)/python -m skdlib notebooks --profile quick

## the whole test suite: lint + format check + unit tests + notebooks (nbval, profile smoke)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SKD_PROFILE=smoke $(BIN)/pytest tests --doctest-modules skdlib --nbval-lax notebooks

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## benchmarks (never part of the tests): prints side-by-side timings on this machine
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_tally.py
	$(BIN)/python benchmarks/bench_dissect.py
	$(BIN)/python benchmarks/bench_loading.py
	$(BIN)/python benchmarks/bench_distill.py
	$(BIN)/python benchmarks/bench_imagenet_steps.py
	$(BIN)/python benchmarks/bench_speed_flags.py
	$(BIN)/python benchmarks/bench_explorer.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
