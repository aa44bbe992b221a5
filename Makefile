# Quickstart:  make run   (install, build the embedded dataset, execute the walkthrough;
#                          make run DATA=labels.csv runs it on your CSV manifest)
#              make test  (unit tests under TensorFlow, Keras tests again under JAX, notebooks under nbval
#                          two at a time; NB_WORKERS=1 for one after the other)
#              make lab   (JupyterLab on notebooks/ with the project's kernel)
#              make lint  (ruff, configured in pyproject.toml)
#              make notebooks  (re-execute the committed notebooks in place, quick profile, as nbtest orders them)
PYTHON  ?= python3
PROFILE ?= quick
DATA    ?=
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
KERNEL  := vienna-lab
# A cell still running after 20 minutes is stuck: it fails, named, instead of holding CI to its limit
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout 1200
# papermill with the kernel's connection encrypted (see tools/execute_notebook.py)
EXECUTE := $(CURDIR)/$(PY) $(CURDIR)/tools/execute_notebook.py --kernel $(KERNEL)
# The classic template writes each figure's alt text from its cell's "alt" metadata (the lab template
# has none, and nbconvert warns about every figure without one).
HTML    := $(VENV)/bin/jupyter nbconvert --to html --template classic

REF_PROFILE ?= cpu
REF_NOTEBOOKS := 04_more_data 05_reduce_large_classes 06_class_weights 07_remove_or_group_rare 08_live_with_it
REF_DIR := build/reference-$(REF_PROFILE)

.PHONY: install data run test unit nbtest nbtest-jax lint notebooks lab bench reference clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ needed, found " + sys.version' \
		|| { echo "Set PYTHON=/path/to/python3.11 (make run PYTHON=python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,jax]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (vienna-lab)" >/dev/null
	touch $(STAMP)

data: $(STAMP)
	VIENNA_PROFILE=$(PROFILE) $(PY) -m vienna_utils.synthetic

run: data
	mkdir -p build
	@set -e; for nb in notebooks/[0-9][0-9]_*.ipynb; do \
		name=$$(basename $$nb .ipynb); \
		echo "== $$name ($(PROFILE) profile)"; \
		VIENNA_PROFILE=$(PROFILE) $(EXECUTE) --profile $(PROFILE) $(if $(DATA),--param data_csv $(abspath $(DATA))) \
			$$nb build/$$name.ipynb; \
		$(HTML) build/$$name.ipynb --output-dir build; \
	done
	@echo; echo "Results:"; \
	echo "  executed notebooks and HTML: $$(pwd)/build/"; \
	echo "  result records:              $$(pwd)/results/"

# The JAX extra too: every Keras-touching test (marker "keras") runs again under KERAS_BACKEND=jax,
# distribution on 4 virtual CPU devices included (tests/test_distribution.py).
JAX_STAMP := $(VENV)/.installed-jax

$(JAX_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[jax]"
	touch $(JAX_STAMP)

# Unit tests in TEST_WORKERS processes (pytest-xdist): most of their time is single-threaded Python
# (building and tracing models), so 2 processes use both cores of a small machine.
TEST_WORKERS ?= 2

unit: $(JAX_STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --durations=8 tests/
	KERAS_BACKEND=jax $(PY) -m pytest -n $(TEST_WORKERS) --durations=8 -m keras tests/

# Notebooks under nbval, two kernels at once (tools/notebook_queue.py): one kernel keeps a 2-core machine
# about 60% busy (model tracing, the head fits and the analysis run on one thread). A notebook starts once
# the notebooks whose records it reads have passed (04 after 01; 05-08 after 04; 09, the comparison, last),
# the longest ready one first; each notebook's output is printed when it ends (logs in build/nbval/).
# NB_WORKERS=1: one after the other, as `pytest --nbval notebooks/` does.
NB_WORKERS ?= 2
NB_QUEUE = $(PY) tools/notebook_queue.py --workers $(NB_WORKERS)
NBVAL_RUN := $(PY) -m pytest -p no:cacheprovider $(NBVAL)

nbtest: data
	@mkdir -p build
	$(NB_QUEUE) --logs build/nbval -- $(NBVAL_RUN)

test: unit nbtest

# The committed notebooks (executed under TensorFlow) checked under JAX: the same nbval comparisons and
# tolerance checks on another backend. JAX's records go to build/results-jax, apart from TensorFlow's;
# caches are keyed by backend. NOTEBOOKS narrows it to those (each still trains what it reads, when the
# notebooks it reads are left out):
#   make nbtest-jax NOTEBOOKS="notebooks/01_*.ipynb notebooks/10_*.ipynb"
# (cells run about 4x longer under JAX on a CPU: the stuck-cell limit is an hour there)
NOTEBOOKS ?=
nbtest-jax: data
	@mkdir -p build
	KERAS_BACKEND=jax VIENNA_RESULTS_DIR=$(CURDIR)/build/results-jax \
		$(NB_QUEUE) --logs build/nbval-jax $(NOTEBOOKS) -- $(NBVAL_RUN) --nbval-cell-timeout 3600

lint: $(STAMP)
	$(PY) -m ruff check .

# After a change to code the notebooks show: every committed notebook re-executed where it is (quick
# profile, as nbval compares them), in nbtest's queue (NB_WORKERS=1: one after the other); a failing
# notebook stays as committed, and the notebooks that read its records are not run. The assert cells
# collect instead of raising (VIENNA_CHECKS=collect): the checks whose committed value no longer holds are
# listed at the end, from build/checks.jsonl, to be put in the assert cells (then `make test`).
NB_EXECUTE_ENV := VIENNA_PROFILE=quick VIENNA_CHECKS=collect VIENNA_CHECKS_FILE=$(CURDIR)/build/checks.jsonl
notebooks: $(STAMP)
	VIENNA_PROFILE=quick $(PY) -m vienna_utils.synthetic
	@mkdir -p build && rm -f build/checks.jsonl
	$(NB_EXECUTE_ENV) $(NB_QUEUE) --logs build/notebooks -- $(EXECUTE) --in-place
	$(PY) tools/strip_notebook_metadata.py notebooks/[0-9][0-9]_*.ipynb
	@$(PY) -m vienna_utils.checks build/checks.jsonl

lab: data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Notebooks 04-08 (every approach, frozen and unfrozen) with a larger profile; their records are copied
# to results/reference/ to be committed. CPU: make reference (profile cpu, about 20-25 minutes on 2 cores).
# GPU: make reference REF_PROFILE=full KERAS_BACKEND=jax
reference: $(STAMP)
	VIENNA_PROFILE=$(REF_PROFILE) $(PY) -m vienna_utils.synthetic
	rm -rf $(REF_DIR) && mkdir -p $(REF_DIR) results/reference
	@set -e; for nb in $(REF_NOTEBOOKS); do \
		echo "== $$nb ($(REF_PROFILE) profile)"; \
		VIENNA_PROFILE=$(REF_PROFILE) VIENNA_RESULTS_DIR=$(CURDIR)/$(REF_DIR)/results \
			$(EXECUTE) --profile $(REF_PROFILE) notebooks/$$nb.ipynb $(REF_DIR)/$$nb.ipynb; \
	done
	@# the new set replaces the profile's old records (a configuration renamed or dropped leaves none behind)
	rm -f results/reference/*_$(REF_PROFILE).json results/reference/*_$(REF_PROFILE).scores.npz
	@for f in $(REF_DIR)/results/runs/*.json $(REF_DIR)/results/runs/*.scores.npz; do \
		cp $$f results/reference/.$$(basename $$f).tmp && mv results/reference/.$$(basename $$f).tmp results/reference/$$(basename $$f); \
	done
	@echo; echo "Reference records ($(REF_PROFILE) profile): $$(pwd)/results/reference/ (commit them);" \
		"executed notebooks: $$(pwd)/$(REF_DIR)/"

clean:
	rm -rf build .pytest_cache
