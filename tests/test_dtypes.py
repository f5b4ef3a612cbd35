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

NUMPY_DTYPES = [np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                                      np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                                      np.float64, np.complex64, np.complex128)]
# ml_dtypes' types, as JAX has them: bfloat16, the float8/6/4 family, int1/2/4, uint1/2/4.
EXTENDED = [np.dtype(getattr(jnp_ref, n)) for n in dtypes.EXTENDED_NAMES if hasattr(jnp_ref, n)]
DTYPES = NUMPY_DTYPES + EXTENDED
# (dtype, weak) pairs: weak versions exist for the kinds Python scalars have.
CASES = [(d, False) for d in DTYPES] + [(d, True) for d in DTYPES if dtypes.kind(d) in "iufc"]
# JAX's result_type looks up the default type of a weak result by NumPy's kind, which is
# "V" for ml_dtypes' integers: a weak int4 alone or with itself is an internal KeyError
# there. pyjax gives what JAX gives every other weak integer: the default int, weak.
JAX_KEYERRORS = {(d, d) for d in EXTENDED if dtypes.kind(d) in "iu"}


class _AbstractValue:
    """A value JAX's result_type reads only the dtype and weak type of (JAX cannot make
    arrays of some of these dtypes on CPU: float6, sub-byte concatenations)."""

    def __init__(self, dt, weak):
        self.dtype = dt
        self.aval = jax.core.ShapedArray((), dt, weak_type=weak)


def _jax_result(*values):
    try:
        dt, weak = jax_dtypes.result_type(*values, return_weak_type_flag=True)
    except Exception as e:  # noqa: BLE001 (the class is compared)
        return type(e)
    return np.dtype(dt), weak


def _same(ours, theirs) -> bool:
    """Equal results, or errors of the same class (TypePromotionError: both ValueErrors)."""
    if isinstance(ours, type) and isinstance(theirs, type):
        return ours.__name__ == theirs.__name__ and issubclass(ours, theirs.__mro__[1])
    return ours == theirs


def _our_result(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        return type(e)


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def x64(request):
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", request.param)
    pyjax.config.update("jax_enable_x64", request.param)
    yield request.param
    jax.config.update("jax_enable_x64", prev)
    pyjax.config.update("jax_enable_x64", False)


def _jax_value(dt, weak):
    return _AbstractValue(dt, weak) if weak or dtypes.is_extended(dt) else np.zeros((), dt)


def _ours_value(dt, weak):
    return pyjax._src.core.array.Array._from_buffer(
        np.zeros((), dtypes.canonicalize_dtype(dt)),
        pyjax._src.core.aval.ShapedArray((), dtypes.canonicalize_dtype(dt), weak))


def test_result_type_every_pair(x64):
    mismatches = []
    for (a, aw), (b, bw) in itertools.product(CASES, CASES):
        if (aw and a.itemsize == 8 or bw and b.itemsize == 8) and not x64:
            continue  # a weak 64-bit array cannot exist with x64 off
        theirs = _jax_result(_jax_value(a, aw), _jax_value(b, bw))
        ours = _our_result(dtypes.result_type_and_weak, _ours_value(a, aw), _ours_value(b, bw))
        if theirs is KeyError and aw and bw and (a, b) in JAX_KEYERRORS:
            default = np.int64 if dtypes.kind(a) == "i" else np.uint64
            assert ours == (dtypes.canonicalize_dtype(default), True)
        elif not _same(ours, theirs):
            mismatches.append(((a, aw), (b, bw), theirs, ours))
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("scalar", [True, 3, 2.5, 1j])
def test_python_scalars_against_every_dtype(scalar, x64):
    for d, w in CASES:
        if w and d.itemsize == 8 and not x64:
            continue
        theirs = _jax_result(_jax_value(d, w), scalar)
        ours = _our_result(dtypes.result_type_and_weak, _ours_value(d, w), scalar)
        assert _same(ours, theirs), (d, w, scalar, ours, theirs)


def test_scalars_alone(x64):
    for s in (True, 3, 2.5, 1j):
        theirs = jax_dtypes.result_type(s, return_weak_type_flag=True)
        assert (np.dtype(theirs[0]), theirs[1]) == dtypes.result_type_and_weak(s)


def _promote(module, a, b):
    try:
        return np.dtype(module.promote_types(a, b))
    except Exception as e:  # noqa: BLE001
        return type(e)


def test_promote_types_matches_jnp(x64):
    """jnp.promote_types over every pair (dtypes, names, Python types), and
    jnp.result_type over pairs of dtypes."""
    kinds = DTYPES + [int, float, complex, bool, "bfloat16", "float8_e4m3fn", "int4"]
    for a, b in itertools.product(kinds, kinds):
        theirs = _promote(jnp_ref, a, b)
        ours = _promote(jnp, a, b)
        assert _same(ours, theirs), (a, b, ours, theirs)
        if isinstance(a, np.dtype) and isinstance(b, np.dtype):
            assert _same(_our_result(jnp.result_type, a, b),
                         _our_result(jnp_ref.result_type, a, b)), (a, b)



def test_binary_op_results_every_pair(x64):
    """The lattice as ops see it: jnp.add on arrays of every dtype pair (weak included)."""
    cases = [(d, w) for d, w in CASES if not (w and d.itemsize == 8 and not x64)]
    for (a, aw), (b, bw) in itertools.product(cases, cases):
        x, y = _ours_value(a, aw), _ours_value(b, bw)
        theirs = _jax_result(_jax_value(a, aw), _jax_value(b, bw))
        if theirs is KeyError and (a, b) in JAX_KEYERRORS:
            continue  # (see JAX_KEYERRORS)
        op = jnp.logical_or if a == np.bool_ and b == np.bool_ else jnp.add
        out = _our_result(op, x, y)
        ours = out if isinstance(out, type) else (out.dtype, out.weak_type)
        assert _same(ours, theirs), (a, aw, b, bw, ours, theirs)


def test_int_overflow_is_an_error():
    with pytest.raises(OverflowError, match="too large to convert to int32"):
        jnp.add(jnp.ones(3, jnp.int32), 2**40)


def _outcome(fn, arg):
    try:
        return ("ok", fn(arg))
    except Exception as e:  # noqa: BLE001  (the error is the result compared)
        return ("err", type(e).__name__, str(e).replace("pyjax", "jax"))


def test_itemsize_bits_and_scalar_type_of_match_jax():
    """Every dtype (the sub-byte ml_dtypes too), Python scalar types, dtype names, values
    and their errors (None, a key dtype, float0, object, a string no dtype has)."""
    key = (jax.random.key(0), pyjax.random.key(0))
    dts = [*DTYPES, "float32", float, int, bool, complex, np.float32, np.dtype(object)]
    cases = [(d, d) for d in dts] + [(None, None), ("foo", "foo"),
                                     (key[0].dtype, key[1].dtype),
                                     (jax.dtypes.float0, pyjax.dtypes.float0)]
    for theirs, ours in cases:
        assert _outcome(pyjax.dtypes.itemsize_bits, ours) == \
            _outcome(jax.dtypes.itemsize_bits, theirs), theirs
    values = [1, 1.0, True, 1j, np.float32(1), np.int8(1), np.bool_(True), np.uint8, float,
              "bfloat16", np.zeros(2, np.complex64), np.array([1, 2], np.uint32), None, "foo",
              [1, 2]]
    pairs = [(v, v) for v in values] + [
        (jnp_ref.arange(3), jnp.arange(3)), (jnp_ref.ones(2, "bfloat16"), jnp.ones(2, "bfloat16")),
        (jnp_ref.ones(2, "int4"), jnp.ones(2, "int4")), (jnp_ref.float32, jnp.float32), key]
    for theirs, ours in pairs:
        assert _outcome(pyjax.dtypes.scalar_type_of, ours) == \
            _outcome(jax.dtypes.scalar_type_of, theirs), theirs
    assert pyjax.jit(lambda v: v * (pyjax.dtypes.scalar_type_of(v) is float))(2.0) == 2.0


def test_inconclusive_dimension_operation_is_an_exception():
    """pyjax's shapes are concrete, so nothing raises it; ``except`` clauses can name it."""
    ours, theirs = pyjax.errors.InconclusiveDimensionOperation, jax.errors.InconclusiveDimensionOperation
    assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__]


@pytest.fixture
def strict():
    """``jax_numpy_dtype_promotion='strict'`` on both sides (Equinox's test suite runs so)."""
    for lib in (jax, pyjax):
        lib.config.update("jax_numpy_dtype_promotion", "strict")
    yield
    for lib in (jax, pyjax):
        lib.config.update("jax_numpy_dtype_promotion", "standard")


def test_strict_promotion_every_pair_as_jax(x64, strict):
    """Only weak types join a type of their kind; different strong types are JAX's
    TypePromotionError (every pair, Python scalars, promote_types, and an op)."""
    test_result_type_every_pair(x64)
    for scalar in (True, 3, 2.5, 1j):
        test_python_scalars_against_every_dtype(scalar, x64)
    test_promote_types_matches_jnp(x64)
    x16, x32 = jnp.ones(2, jnp.float16), jnp.ones(2, jnp.float32)
    with pytest.raises(pyjax.dtypes.TypePromotionError, match="promotion=strict"):
        x16 * x32
    with pytest.raises(pyjax.dtypes.TypePromotionError):
        pyjax.jit(lambda a, b: a + b)(x16, x32)
    assert (x16 * 2.0).dtype == jnp.float16
    with pyjax.numpy_dtype_promotion("standard"):
        assert (x16 * x32).dtype == jnp.float32
