#!/usr/bin/env bash
# Runs the Array API conformance suite (data-apis/array-api-tests) on pyjax.numpy, at a
# pinned commit, as issue 12 measures it: the standard version JAX declares, x64 on, five
# hypothesis examples per test, extensions (linalg, fft) included. Not part of `make test`.
#
#   scripts/array_api_tests.sh [pytest args...]      (`make array-api`)
#
# ARRAY_API_TESTS_DIR: an existing checkout (with its array-api submodule) to use instead
# of cloning; ARRAY_API_TESTS_MODULE=jax.numpy measures JAX the same way.
set -euo pipefail

TESTS_COMMIT=55fcc60179efa2680ddd6cd926ddf17b83530e2b   # array-api-tests
SPEC_COMMIT=5f847a3858875c682ae901aa22b0413bf24be9da    # its array-api submodule
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
DIR="${ARRAY_API_TESTS_DIR:-$ROOT/build/array-api-tests}"

if [ ! -d "$DIR/array_api_tests" ]; then
    git clone -q https://github.com/data-apis/array-api-tests "$DIR"
    git -C "$DIR" checkout -q "$TESTS_COMMIT"
    git -C "$DIR" submodule update -q --init
    git -C "$DIR/array-api" checkout -q "$SPEC_COMMIT"
fi
if [ "$(git -C "$DIR" rev-parse HEAD)" != "$TESTS_COMMIT" ]; then
    echo "warning: $DIR is not at the pinned commit $TESTS_COMMIT" >&2
fi
"$PY" -c "import ndindex, hypothesis, pytest_jsonreport" 2>/dev/null ||
    "$PY" -m pip install -q ndindex hypothesis pytest-json-report

cd "$DIR"
ARRAY_API_TESTS_MODULE="${ARRAY_API_TESTS_MODULE:-pyjax.numpy}" \
ARRAY_API_TESTS_VERSION="${ARRAY_API_TESTS_VERSION:-2024.12}" \
JAX_ENABLE_X64=1 PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" \
    "$PY" -m pytest array_api_tests -q -n "${JOBS:-2}" --max-examples=5 -p no:cacheprovider "$@"
