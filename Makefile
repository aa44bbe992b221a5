# Quickstart:  make run   (install, build the embedded dataset, execute the walkthrough;
#                          make run DATA=labels.csv runs it on your CSV manifest)
#              make test  (unit tests under TensorFlow, Keras tests again under JAX, notebooks under nbval
#                          in two lanes; NB_LANES=1 for one after the other)
#              make lab   (JupyterLab on notebooks/ with the project's kernel)
#              make lint  (ruff, configured in pyproject.toml)
#              make notebooks  (re-execute the committed notebooks in place, quick profile, in nbtest's lanes)
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
	$(PY) -m pytest -n $(TEST_WORKERS) tests/
	KERAS_BACKEND=jax $(PY) -m pytest -n $(TEST_WORKERS) -m keras tests/

# Notebooks under nbval, two kernels at once: one kernel keeps a 2-core machine about 60% busy (model
# tracing, the head fits and the analysis run on one thread). Two phases keep the order the records
# need: 01 trains the baseline and 04 its other seeds, which 05-08 reuse; 09 compares the records of
# 01-08, so it runs last. Lanes are balanced by measured time. NB_LANES=1: one after the other, as
# `pytest --nbval notebooks/` does.
NB_LANES ?= 2
NB_PHASE1_A := 01 02 04
NB_PHASE1_B := 03 10
NB_PHASE2_A := 05 07
NB_PHASE2_B := 06 08
nb_files = $(foreach n,$(1),$(wildcard notebooks/$(n)_*.ipynb))
# $(call two_lanes,A,B,log,command): `command` on notebooks A and on notebooks B, two processes at once;
# each lane's output goes to build/log-a.log / build/log-b.log, printed when both have ended; fails if either does
define two_lanes
	@echo "two lanes: $(1) | $(2)"
	@$(4) $(call nb_files,$(1)) > build/$(3)-a.log 2>&1 & \
	a=$$!; trap 'kill $$a 2>/dev/null' INT TERM; \
	$(4) $(call nb_files,$(2)) > build/$(3)-b.log 2>&1; \
	b=$$?; wait $$a; a=$$?; \
	echo "== $(1)"; cat build/$(3)-a.log; echo "== $(2)"; cat build/$(3)-b.log; \
	test $$a -eq 0 && test $$b -eq 0
endef
# $(call nb_two_lanes,A,B,name): nbval on notebooks A and B; logs in build/nbval-name-*.log
nb_two_lanes = $(call two_lanes,$(1),$(2),nbval-$(3),$(PY) -m pytest -p no:cacheprovider $(NBVAL))

nbtest: data
ifeq ($(NB_LANES),1)
	$(PY) -m pytest $(NBVAL) notebooks/
else
	@mkdir -p build
	$(call nb_two_lanes,$(NB_PHASE1_A),$(NB_PHASE1_B),phase1)
	$(call nb_two_lanes,$(NB_PHASE2_A),$(NB_PHASE2_B),phase2)
	$(PY) -m pytest $(NBVAL) $(call nb_files,09)
endif

test: unit nbtest

# The committed notebooks (executed under TensorFlow) checked under JAX: the same nbval comparisons and
# tolerance checks on another backend. JAX's records go to build/results-jax, apart from TensorFlow's;
# caches are keyed by backend. In the lanes and phases of nbtest; NOTEBOOKS narrows it to those, in one
# process (JAX is about 4x slower than TensorFlow on a CPU):
#   make nbtest-jax NOTEBOOKS="notebooks/01_*.ipynb notebooks/10_*.ipynb"
# (cells run about 4x longer under JAX on a CPU: the stuck-cell limit is an hour there)
NBVAL_JAX := KERAS_BACKEND=jax VIENNA_RESULTS_DIR=$(CURDIR)/build/results-jax $(PY) -m pytest -p no:cacheprovider \
	$(NBVAL) --nbval-cell-timeout 3600
NOTEBOOKS ?=
nbtest-jax: data
ifneq ($(strip $(NOTEBOOKS)),)
	$(NBVAL_JAX) $(NOTEBOOKS)
else
	@mkdir -p build
	$(call two_lanes,$(NB_PHASE1_A),$(NB_PHASE1_B),nbval-jax-phase1,$(NBVAL_JAX))
	$(call two_lanes,$(NB_PHASE2_A),$(NB_PHASE2_B),nbval-jax-phase2,$(NBVAL_JAX))
	$(NBVAL_JAX) $(call nb_files,09)
endif

lint: $(STAMP)
	$(PY) -m ruff check .

# After a change to code the notebooks show: every committed notebook re-executed where it is (quick
# profile, as nbval compares them), in the lanes and phases of nbtest (NB_LANES=1: one after the other);
# a failing notebook stops the run and stays as committed. The assert cells collect instead of raising
# (VIENNA_CHECKS=collect): the checks whose committed value no longer holds are listed at the end, from
# build/checks.jsonl, to be put in the assert cells (then `make test`).
NB_EXECUTE := VIENNA_PROFILE=quick VIENNA_CHECKS=collect VIENNA_CHECKS_FILE=$(CURDIR)/build/checks.jsonl \
	$(EXECUTE) --in-place
notebooks: $(STAMP)
	VIENNA_PROFILE=quick $(PY) -m vienna_utils.synthetic
	@mkdir -p build && rm -f build/checks.jsonl
ifeq ($(NB_LANES),1)
	$(NB_EXECUTE) $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
else
	@mkdir -p build
	$(call two_lanes,$(NB_PHASE1_A),$(NB_PHASE1_B),notebooks-phase1,$(NB_EXECUTE))
	$(call two_lanes,$(NB_PHASE2_A),$(NB_PHASE2_B),notebooks-phase2,$(NB_EXECUTE))
	$(NB_EXECUTE) $(call nb_files,09)
endif
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
	@for f in $(REF_DIR)/results/runs/*.json $(REF_DIR)/results/runs/*.scores.npz; do \
		cp $$f results/reference/.$$(basename $$f).tmp && mv results/reference/.$$(basename $$f).tmp results/reference/$$(basename $$f); \
	done
	@echo; echo "Reference records ($(REF_PROFILE) profile): $$(pwd)/results/reference/ (commit them);" \
		"executed notebooks: $$(pwd)/$(REF_DIR)/"

clean:
	rm -rf build .pytest_cache
