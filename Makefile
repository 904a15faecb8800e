# The workbook's two commands: `make run` (set up, then run the whole job on the bundled sample round)
# and `make test` (set up, then run every test). Each creates .venv when it is missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help setup run test lint sample notebooks clean-outputs benchmark

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# the notebooks' kernel "python3" is this environment's interpreter, whoever starts Jupyter
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (smartcity workbook)"
	touch $(STAMP)

setup: $(STAMP)  ## Create .venv with the locked dependencies and the package

run: $(STAMP)  ## Run the whole job on the bundled rounds (2021, 2022) and their history; open reports/index.html
	$(BIN)/smartcity run --all-rounds

test: $(STAMP)  ## Run the whole test suite (lint, unit, end-to-end, notebooks, browser)
	$(BIN)/ruff check smartcity_analysis tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)  ## Lint the package and tests
	$(BIN)/ruff check smartcity_analysis tests benchmarks

sample: $(STAMP)  ## Regenerate the bundled sample round (byte-identical for the same seed)
	$(BIN)/smartcity sample --seed 2021 --out data/raw/submissions/sample-2021

notebooks: $(STAMP)  ## Re-execute the committed notebooks in place (the history notebook reads both bundled rounds)
	$(BIN)/smartcity run --all-rounds --quiet
	$(BIN)/python -m smartcity_analysis.reports.runner

benchmark: $(STAMP)  ## Time every stage at every size (docs/performance.md), then the reading limits
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_reading.py
