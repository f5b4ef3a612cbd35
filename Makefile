# Two promises: `make demo` and `make test` work on a fresh clone of a bare Python machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean array-api coverage fuzz ecosystem

$(VENV)/.installed-base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,distributed]'
	touch $(VENV)/.installed-base $@

demo: $(VENV)/.installed-base
	$(PY) examples/tour.py

# The JAX ecosystem libraries (optax, chex, Equinox, Flax, Haiku and what they import),
# pinned in tools/ecosystem/requirements.txt, installed without their `jax` dependency into
# .eco/lib: the smoke tests in `make test` find them through PYJAX_ECO_PATH.
ECO := .eco
$(ECO)/lib/.installed: tools/ecosystem/requirements.txt | $(VENV)/.installed-test
	rm -rf $(ECO)/lib
	$(PY) -m pip install -q --no-deps --target $(ECO)/lib -r $<
	touch $@

# What the libraries' own test suites import beyond them (`make ecosystem` only).
$(ECO)/testlib/.installed: tools/ecosystem/requirements-tests.txt | $(VENV)/.installed-test
	rm -rf $(ECO)/testlib
	$(PY) -m pip install -q --no-deps --target $(ECO)/testlib -r $<
	touch $@

test: $(VENV)/.installed-test $(ECO)/lib/.installed
	PYJAX_ECO_PATH=$(CURDIR)/$(ECO)/lib PYJAX_CHECKS=1 $(PY) -m pytest -n 2 tests

bench: $(VENV)/.installed-test
	$(PY) benchmarks/run.py $(ARGS)

# The Array API conformance suite at a pinned commit (scripts/array_api_tests.sh); slow,
# not part of `make test`.
array-api: $(VENV)/.installed-test
	PY=$(PY) scripts/array_api_tests.sh $(ARGS)

coverage: $(VENV)/.installed-test  # regenerate docs/api-coverage.md (tests/test_api_coverage.py)
	PYJAX_WRITE_COVERAGE=1 $(PY) -m pytest -q tests/test_api_coverage.py

clean:
	rm -rf $(VENV) $(ECO) build src/*.egg-info

# The libraries' own test suites on real JAX and on pyjax, compared (tools/ecosystem,
# docs/ecosystem.md); slow, not part of `make test`. Tests come from the sdists (pip
# download); Equinox's from its repository: ARGS='--repo equinox=PATH_OR_URL' (default the
# GitHub URL). Quick partial runs: ARGS='--lib optax --files optax/_src/base_test.py -k adam'.
ecosystem: $(VENV)/.installed-test $(ECO)/lib/.installed $(ECO)/testlib/.installed
	$(PY) -m tools.ecosystem --eco $(ECO) $(ARGS)

# The differential fuzzer (tools/fuzz, docs/fuzzing.md): N generated programs from SEED, each
# under a transformation stack, against JAX; mismatches are shrunk to scripts in /tmp.
N ?= 2000
SEED ?= 0
WORKERS ?= 2
fuzz: $(VENV)/.installed-test
	PYTHONPATH=src:. $(PY) -m tools.fuzz -n $(N) --seed $(SEED) --workers $(WORKERS) $(ARGS)
