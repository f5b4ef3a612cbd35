# Two promises: `make demo` and `make test` work on a fresh clone of a bare Python machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean array-api coverage fuzz

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

test: $(VENV)/.installed-test
	PYJAX_CHECKS=1 $(PY) -m pytest -n 2 tests

bench: $(VENV)/.installed-test
	$(PY) benchmarks/run.py $(ARGS)

# The Array API conformance suite at a pinned commit (scripts/array_api_tests.sh); slow,
# not part of `make test`.
array-api: $(VENV)/.installed-test
	PY=$(PY) scripts/array_api_tests.sh $(ARGS)

coverage: $(VENV)/.installed-test  # regenerate docs/api-coverage.md (tests/test_api_coverage.py)
	PYJAX_WRITE_COVERAGE=1 $(PY) -m pytest -q tests/test_api_coverage.py

clean:
	rm -rf $(VENV) build src/*.egg-info

# The differential fuzzer (tools/fuzz, docs/fuzzing.md): N generated programs from SEED, each
# under a transformation stack, against JAX; mismatches are shrunk to scripts in /tmp.
N ?= 2000
SEED ?= 0
WORKERS ?= 2
fuzz: $(VENV)/.installed-test
	PYTHONPATH=src:. $(PY) -m tools.fuzz -n $(N) --seed $(SEED) --workers $(WORKERS) $(ARGS)
