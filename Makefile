# sendlink: two commands are all a newcomer needs.
#   make report   set up if needed, run the whole analysis, render the reports
#   make test     set up if needed, run every test, notebooks included
# `make help` lists every target.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Stable dates and no stray parallelism in numerical libraries, so outputs
# are identical on every machine. (No MPLBACKEND: notebook kernels must keep
# their inline backend, or figures vanish from the outputs.)
export TZ := Europe/London
export PYTHONHASHSEED := 0
export OMP_NUM_THREADS := 1

.PHONY: help setup report test data pipeline notebooks render lint lab bench clean

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sendlink needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@echo "Setting up $(VENV) with $$($(PYTHON) --version) (first run takes a minute or two)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (sendlink)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project (done for you by report and test)

data: $(STAMP) ## Generate the synthetic data from params.yaml into data/synthetic/
	$(BIN)/sendlink synth --out data/synthetic

pipeline: $(STAMP) ## Run every pipeline stage (synth when stale, consent, link, extract, analyse, evaluate, scan)
	$(BIN)/sendlink pipeline

notebooks: $(STAMP) ## Execute every notebook in place (restart and run all)
	$(BIN)/sendlink notebooks run

render: $(STAMP) ## Render the executed notebooks into reports/ (Quarto if installed, else nbconvert)
	$(BIN)/sendlink notebooks render

report: $(STAMP) ## Regenerate data, run the pipeline, execute and render every notebook
	$(BIN)/sendlink report

test: $(STAMP) ## Run every test, notebooks included (generates the data and runs the pipeline first)
	$(BIN)/sendlink -q pipeline --skip scan
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg tests notebooks

lint: $(STAMP) ## Ruff over code and notebooks
	$(BIN)/ruff check src tests notebooks benchmarks

lab: $(STAMP) ## Open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks

bench: $(STAMP) ## Run the benchmarks in benchmarks/ (long: tens of minutes; not part of make test)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_all.py $(if $(ONLY),--only $(ONLY),)

clean: ## Remove generated data, reports and the virtual environment
	rm -rf $(VENV) data/synthetic/npd data/synthetic/survey data/synthetic/truth data/synthetic/manifest.json data/linkage data/linkage_unit data/research data/register data/survey_org data/summary.json reports/* .pytest_cache .ruff_cache
