"""JAX's promotion lattice: every pair of dtypes, weak and strong, with x64 off and on,
compared with real JAX."""
import itertools

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref
from jax._src import dtypes as jax_dtypes

import pyjax
import pyjax.numpy as jnp
from pyjax._src import dtypes

from harness import _weak

DTYPES = [np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                                np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                                np.float64, np.complex64, np.complex128)]
# (dtype, weak) pairs: weak versions exist for the kinds Python scalars have.
CASES = [(d, False) for d in DTYPES] + [(d, True) for d in DTYPES if d.kind in "iufc"]


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def x64(request):
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", request.param)
    pyjax.config.update("jax_enable_x64", request.param)
    yield request.param
    jax.config.update("jax_enable_x64", prev)
    pyjax.config.update("jax_enable_x64", False)


def _jax_value(dt, weak):
    x = np.zeros((), dt)
    return _weak(jnp_ref.asarray(x)) if weak else x


def _ours_value(dt, weak):
    return pyjax._src.core.array.Array._from_buffer(
        np.zeros((), dtypes.canonicalize_dtype(dt)),
        pyjax._src.core.aval.ShapedArray((), dtypes.canonicalize_dtype(dt), weak))


def test_result_type_every_pair(x64):
    mismatches = []
    for (a, aw), (b, bw) in itertools.product(CASES, CASES):
        if (aw and a.itemsize == 8 or bw and b.itemsize == 8) and not x64:
            continue  # a weak 64-bit array cannot exist with x64 off
        theirs = jax_dtypes.result_type(_jax_value(a, aw), _jax_value(b, bw),
                                        return_weak_type_flag=True)
        ours = dtypes.result_type_and_weak(_ours_value(a, aw), _ours_value(b, bw))
        if (np.dtype(theirs[0]), theirs[1]) != ours:
            mismatches.append(((a, aw), (b, bw), theirs, ours))
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("scalar", [True, 3, 2.5, 1j])
def test_python_scalars_against_every_dtype(scalar, x64):
    for d, w in CASES:
        if w and d.itemsize == 8 and not x64:
            continue
        theirs = jax_dtypes.result_type(_jax_value(d, w), scalar, return_weak_type_flag=True)
        ours = dtypes.result_type_and_weak(_ours_value(d, w), scalar)
        assert (np.dtype(theirs[0]), theirs[1]) == ours, (d, w, scalar)


def test_scalars_alone(x64):
    for s in (True, 3, 2.5, 1j):
        theirs = jax_dtypes.result_type(s, return_weak_type_flag=True)
        assert (np.dtype(theirs[0]), theirs[1]) == dtypes.result_type_and_weak(s)


def test_promote_types_matches_jnp():
    for a, b in itertools.product(DTYPES, DTYPES):
        assert dtypes.promote_types(a, b) == jnp_ref.promote_types(a, b), (a, b)


def test_binary_op_results_every_pair(x64):
    """The lattice as ops see it: jnp.add on arrays of every dtype pair (weak included)."""
    cases = [(d, w) for d, w in CASES if not (w and d.itemsize == 8 and not x64)]
    for (a, aw), (b, bw) in itertools.product(cases, cases):
        x, y = _ours_value(a, aw), _ours_value(b, bw)
        ours = jnp.add(x, y) if not (a == np.bool_ and b == np.bool_) else jnp.logical_or(x, y)
        theirs_dt, theirs_weak = jax_dtypes.result_type(_jax_value(a, aw), _jax_value(b, bw),
                                                        return_weak_type_flag=True)
        assert (ours.dtype, ours.weak_type) == (np.dtype(theirs_dt), theirs_weak), (a, aw, b, bw)


def test_int_overflow_is_an_error():
    with pytest.raises(OverflowError, match="too large to convert to int32"):
        jnp.add(jnp.ones(3, jnp.int32), 2**40)
