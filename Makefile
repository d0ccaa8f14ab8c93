# hybridlab: plain pip + venv, no conda needed.  `make help` lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
# JupyterLab refuses to run as root unless told (containers, CI machines)
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
# where torch comes from: empty = pip's default (the CUDA build on Linux x86_64);
# make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu takes PyTorch's CPU build
TORCH_INDEX ?=

.PHONY: help install lab reproduce notebooks test lint benchmarks hpo-benchmark floors clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml Makefile
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, so that nothing else picks its build; TORCH_INDEX chooses the index
	$(BIN)/python -m pip install --quiet --no-compile torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet --no-compile -e ".[all]"
	# byte-compile once, on every core (pip compiles one file at a time: 86 s of a 186 s
	# install; this takes 55 s on 2 cores), hybridlab and its tests included: where
	# PYTHONDONTWRITEBYTECODE is set (CI) nothing is compiled later and every process would
	# compile what it imports.  Files for newer Pythons (torch's py312 intrinsics) do not
	# compile, as under pip: not an error
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib hybridlab tests || true
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)  ## create .venv and install hybridlab with every extra (~3 min)

lab: install  ## install, then open JupyterLab on notebooks/ with the quickstart
	cd notebooks && ../$(BIN)/jupyter lab $(LAB_ARGS) 00_quickstart.ipynb

reproduce: install  ## execute every notebook headless (full budgets) into reports/notebooks/
	@mkdir -p reports/notebooks
	$(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=3600 \
		--output-dir reports/notebooks $(NOTEBOOKS)

notebooks: install  ## re-execute the notebooks in place with full budgets (to commit outputs)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 $(NOTEBOOKS)

lint: install  ## ruff, and the import-linter contracts of docs/architecture.md (pyproject.toml)
	$(BIN)/ruff check hybridlab tests benchmarks
	$(BIN)/lint-imports --no-cache

# two test workers, one BLAS thread each: small fits run many times slower when BLAS threads
# of two processes fight over two cores
test: lint  ## lint, unit tests, and every notebook headless in quick mode
	HYBRIDLAB_QUICK=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(BIN)/python -m pytest -n 2 --dist loadgroup --doctest-modules --nbmake $(NOTEBOOKS) hybridlab tests; \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

FLOOR_TESTS := tests/test_driver.py tests/test_problem.py tests/test_deadline.py tests/test_space.py \
	tests/test_ml_search.py tests/test_study_stats.py tests/test_study_compare.py tests/test_bayes.py \
	tests/test_model_based.py tests/test_optuna_sampler.py tests/test_tracking.py tests/test_constraints.py \
	tests/test_hybrid.py tests/test_combinators.py tests/test_asha.py tests/test_ml_train.py \
	tests/test_ml_data.py tests/test_study_report.py tests/test_cli.py tests/test_ga.py tests/test_pso.py \
	tests/test_local.py tests/test_ml_effects.py tests/test_ml_measure.py

floors:  ## the core tests on the lowest versions pyproject.toml declares (in .venv-floors)
	@test -x .venv-floors/bin/python || $(PYTHON) -m venv .venv-floors
	.venv-floors/bin/python -m pip install --quiet torch==2.13.0 "pytest>=8" "hypothesis>=6.100" \
		$$($(PYTHON) benchmarks/floors.py)
	.venv-floors/bin/python -m pip install --quiet --no-deps -e .
	.venv-floors/bin/python -m pytest -q -p no:cacheprovider $(FLOOR_TESTS)

benchmarks: install  ## performance scripts: overhead, parallel/Ray speed-up, store, vectorised, dashboard, training, compression, ONNX int8, deployable stack
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/parallel.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/scale.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/vectorized.py
	OMP_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/python benchmarks/dashboard.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/training.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/onnx_int8.py
	$(BIN)/python benchmarks/deploy_stack.py --ratio 0.4

hpo-benchmark: install  ## hybrid HPO vs Optuna TPE, GP and random on 9 tasks, 5 seeds (~50 min on 2 cores)
	$(BIN)/python benchmarks/hpo.py --jobs 2 --methods expensive bayes trust_region \
		"surrogate(pso(n_particles=10))" "ga>>local" tpe gp random

clean:  ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
