"""jnp's reductions against jax.numpy: values, result dtypes (JAX's accumulation rules),
weak types, axis/keepdims/dtype/where/initial forms and error classes; gradients and vmap
for a representative set."""
import functools

import numpy as np
import pytest

import jax
import jax.numpy as jref

import pyjax
import pyjax.numpy as jnp

from harness import assert_same, check_grads, check_vmap
from test_numpy_ufuncs import compare_cases

nan, inf = np.nan, np.inf
_rng = np.random.default_rng(0)

ARRAYS = {
    "bool": _rng.random((2, 3, 4)) > 0.4,
    "int8": _rng.integers(-9, 9, (2, 3, 4)).astype(np.int8),
    "uint8": _rng.integers(0, 200, (2, 3, 4)).astype(np.uint8),
    "int32": _rng.integers(-1000, 1000, (2, 3, 4)).astype(np.int32),
    "float16": _rng.uniform(-3, 3, (2, 3, 4)).astype(np.float16),
    "float32": _rng.uniform(-3, 3, (2, 3, 4)).astype(np.float32),
    "complex64": (_rng.uniform(-2, 2, (2, 3, 4)) + 1j * _rng.uniform(-2, 2, (2, 3, 4))
                  ).astype(np.complex64),
}
WITH_NAN = np.where(_rng.random((2, 3, 4)) > 0.7, nan, ARRAYS["float32"]).astype(np.float32)
WITH_NAN[1, 2] = nan  # one all-NaN slice along the last axis
MASK = _rng.random((2, 3, 4)) > 0.3
AXES = [None, -1, (0, 2)]


def cases_for(dtypes, axes=AXES, extra=()):
    """(args, kwargs) over dtypes x axes, keepdims once, plus Python scalars."""
    out = [((ARRAYS[d],), dict(axis=ax)) for d in dtypes for ax in axes]
    out += [((ARRAYS[dtypes[-1]],), dict(axis=1, keepdims=True)), ((2.5,), {}), ((3,), {})]
    return out + list(extra)


def run(name, cases, op_by_op=True):
    ours, theirs = getattr(jnp, name), getattr(jref, name)
    for args, kwargs in cases:
        label = f"{name}[{kwargs}]"
        compare_cases(functools.partial(ours, **kwargs), functools.partial(theirs, **kwargs),
                      [args], label, op_by_op=op_by_op)


ALL = list(ARRAYS)
NUMERIC = [d for d in ALL if d != "bool"]
REAL = [d for d in ALL if d != "complex64"]

CASES = {
    "sum": cases_for(ALL, extra=[
        ((ARRAYS["int8"],), dict(dtype=np.int8)), ((ARRAYS["int32"],), dict(dtype=np.float32)),
        ((ARRAYS["float32"],), dict(dtype=np.int32, axis=0)),
        ((ARRAYS["bool"],), dict(dtype=bool, axis=1)),
        ((ARRAYS["uint8"],), dict(promote_integers=False, axis=-1)),
        ((ARRAYS["float32"],), dict(axis=1, initial=10.0)),
        ((ARRAYS["int8"],), dict(axis=(1, 2), where=MASK[0])),
        ((ARRAYS["float16"],), dict(where=MASK, keepdims=True)),
        ((ARRAYS["float32"][:, :0],), dict(axis=1)),
        ((ARRAYS["int32"],), dict(axis=np.int64(2))),
        ((ARRAYS["float32"],), dict(dtype=float)), ((ARRAYS["int8"],), dict(dtype=int))]),
    "prod": cases_for(["bool", "int8", "uint8", "float16", "float32", "complex64"], extra=[
        ((ARRAYS["int8"] % 3,), dict(dtype=np.int8, axis=0)),
        ((ARRAYS["float32"],), dict(axis=2, initial=-2.0, where=MASK))]),
    "max": cases_for(REAL, extra=[
        ((ARRAYS["float32"],), dict(axis=0, initial=1.0)),
        ((ARRAYS["int8"],), dict(axis=-1, initial=0, where=MASK)),
        ((ARRAYS["uint8"],), dict(where=MASK, initial=3)),
        ((WITH_NAN,), dict(axis=-1)), ((ARRAYS["float32"][:0],), dict(axis=1)),
        ((ARRAYS["float32"][:0],), dict(initial=0.0))]),
    "min": cases_for(REAL, extra=[
        ((ARRAYS["float16"],), dict(axis=0, initial=-1.0)),
        ((ARRAYS["int32"],), dict(axis=(0, 1), initial=0, where=MASK[0, 0])),
        ((WITH_NAN,), dict(axis=1))]),
    "amax": cases_for(["float32"]), "amin": cases_for(["int8"]),
    "all": cases_for(["bool", "int8", "float32", "complex64"], extra=[((ARRAYS["float32"],), dict(axis=0, where=MASK)),
                                 ((np.array([0j, 1j, 1 + 0j]),), {})]),
    "any": cases_for(["bool", "int8", "float32", "complex64"], extra=[
        ((ARRAYS["bool"],), dict(axis=-1, where=MASK))]),
    "mean": cases_for(["bool", "int8", "uint8", "float16", "float32", "complex64"], extra=[
        ((ARRAYS["int32"],), dict(dtype=np.float16, axis=0)),
        ((ARRAYS["int32"],), dict(dtype=np.int32, axis=1)),
        ((ARRAYS["float32"],), dict(axis=(0, 1), where=MASK)),
        ((ARRAYS["float16"],), dict(axis=-1, where=MASK, keepdims=True)),
        ((ARRAYS["float32"][:, :0],), dict(axis=1))]),
    "var": cases_for(["bool", "int8", "float16", "float32", "complex64"], extra=[
        ((ARRAYS["float32"],), dict(axis=0, ddof=1)),
        ((ARRAYS["float32"],), dict(axis=-1, correction=1.5, keepdims=True)),
        ((ARRAYS["int8"],), dict(axis=(0, 2), where=MASK)),
        ((ARRAYS["complex64"],), dict(axis=1, dtype=np.complex64)),
        ((ARRAYS["float32"],), dict(axis=0, ddof=2)), ((ARRAYS["float32"][:1],), dict(axis=0)),
        ((ARRAYS["int32"],), dict(dtype=np.float16, axis=1)),
        ((ARRAYS["float32"],), dict(axis=1, mean=ARRAYS["float32"].mean(1, keepdims=True)))]),
    "std": cases_for(["int8", "float16", "float32", "complex64"], extra=[
        ((ARRAYS["float32"],), dict(axis=2, ddof=1, where=MASK)),
        ((ARRAYS["uint8"],), dict(axis=0, correction=1))]),
    "ptp": cases_for(["int8", "uint8", "float32"]),
    "count_nonzero": cases_for(["bool", "int8", "float32", "complex64"]),
    "argmax": [((ARRAYS[d],), dict(axis=ax)) for d in REAL for ax in (None, 0, -1)] + [
        ((ARRAYS["float32"],), dict(axis=1, keepdims=True)),
        ((ARRAYS["int8"],), dict(keepdims=True)), ((WITH_NAN,), dict(axis=-1)), ((2.0,), {})],
    "argmin": [((ARRAYS[d],), dict(axis=ax)) for d in ("bool", "uint8", "float32")
               for ax in (None, 2)] + [((WITH_NAN,), dict(axis=1, keepdims=True))],
    "nanargmax": [((WITH_NAN,), dict(axis=ax)) for ax in (None, 0, -1)] + [
        ((ARRAYS["int8"],), dict(axis=1))],
    "nanargmin": [((WITH_NAN,), dict(axis=-1, keepdims=True)), ((ARRAYS["uint8"],), {})],
    "nansum": [((WITH_NAN,), dict(axis=ax)) for ax in AXES] + [
        ((ARRAYS["int8"],), dict(axis=1)), ((WITH_NAN,), dict(axis=0, where=MASK, initial=1.0)),
        ((WITH_NAN.astype(np.float16),), dict(axis=-1, keepdims=True))],
    "nanprod": [((WITH_NAN,), dict(axis=ax)) for ax in (None, 2)] + [
        ((ARRAYS["int32"] % 4,), dict(axis=0))],
    "nanmax": [((WITH_NAN,), dict(axis=ax)) for ax in AXES] + [
        ((WITH_NAN,), dict(axis=-1, initial=0.0)), ((ARRAYS["uint8"],), dict(axis=1))],
    "nanmin": [((WITH_NAN,), dict(axis=ax, keepdims=True)) for ax in (0, -1)] + [
        ((WITH_NAN,), dict(axis=0, where=MASK, initial=5.0))],
    "nanmean": [((WITH_NAN,), dict(axis=ax)) for ax in AXES] + [
        ((ARRAYS["int32"],), dict(axis=0)), ((WITH_NAN,), dict(axis=1, where=MASK)),
        ((WITH_NAN.astype(np.float16),), dict(axis=(0, 1)))],
    "nanvar": [((WITH_NAN,), dict(axis=ax)) for ax in AXES] + [
        ((WITH_NAN,), dict(axis=-1, ddof=1, keepdims=True)), ((ARRAYS["int8"],), dict(axis=1))],
    "nanstd": [((WITH_NAN,), dict(axis=ax)) for ax in (None, 1)] + [
        ((WITH_NAN,), dict(axis=0, ddof=1))],
    "average": cases_for(["int8", "float32"], extra=[
        ((ARRAYS["float32"], None, np.abs(ARRAYS["float32"])), {}),
        ((ARRAYS["float32"], 1, np.arange(1, 4.0)), {}),
        ((ARRAYS["float32"], (2, 0), np.abs(ARRAYS["float32"][:, 0].T)), {}),
        ((ARRAYS["int8"], -1, np.arange(4)), dict(returned=True)),
        ((ARRAYS["float32"],), dict(axis=1, returned=True, keepdims=True)),
        ((ARRAYS["float16"], 0, np.ones(2, np.float32)), dict(keepdims=True))]),
    "cumsum": [((ARRAYS[d],), dict(axis=ax)) for d in ALL for ax in (None, 1)] + [
        ((ARRAYS["int8"],), dict(axis=-1, dtype=np.int32)),
        ((ARRAYS["int32"],), dict(axis=0, dtype=bool)), ((3.0,), {})],
    "cumprod": [((ARRAYS[d] if d != "int32" else ARRAYS[d] % 5,), dict(axis=ax))
                for d in ALL for ax in (None, -1)] + [
        ((ARRAYS["float32"],), dict(axis=0, dtype=np.float16))],
    "nancumsum": [((WITH_NAN,), dict(axis=ax)) for ax in (None, 2)],
    "nancumprod": [((WITH_NAN,), dict(axis=1)), ((ARRAYS["int8"],), dict(axis=0))],
    "cumulative_sum": [((ARRAYS[d][0, 0],), {}) for d in ("bool", "int8", "uint8", "float32")] + [
        ((ARRAYS["float32"],), dict(axis=1, include_initial=True)),
        ((ARRAYS["int8"],), dict(axis=-1, dtype=np.int16))],
    "cumulative_prod": [((ARRAYS["int8"][0, 0],), {}), ((ARRAYS["bool"][0, 0],), {}),
                        ((ARRAYS["float32"],), dict(axis=2, include_initial=True))],
}

QUANTILE_Q = np.array([0.0, 0.3, 0.5, 0.9, 1.0], np.float32)
WEIGHTS = np.where(MASK, np.abs(ARRAYS["float32"]), 0).astype(np.float32)
WEIGHTS[1, 1, 1] = -1.0  # a negative weight makes its slice NaN
QUANTILE_CASES = {
    "median": [((ARRAYS[d],), dict(axis=ax)) for d in ("int8", "float32") for ax in AXES] + [
        ((ARRAYS["float16"],), dict(axis=1, keepdims=True)), ((WITH_NAN,), dict(axis=-1)),
        ((ARRAYS["float32"],), dict(axis=(0, 2), keepdims=True))],
    "nanmedian": [((WITH_NAN,), dict(axis=ax)) for ax in (None, 0, -1)],
    "quantile": [((ARRAYS["float32"], q), dict(axis=ax, method=m))
                 for q in (0.25, QUANTILE_Q) for ax in (None, 1)
                 for m in ("linear", "lower", "higher", "nearest", "midpoint")] + [
        ((ARRAYS["int32"], QUANTILE_Q), dict(axis=(0, 2), keepdims=True)),
        ((WITH_NAN, 0.5), dict(axis=0)), ((ARRAYS["float16"], np.float32(0.7)), dict(axis=-1)),
        ((ARRAYS["float32"], QUANTILE_Q), dict(axis=1, method="inverted_cdf", weights=WEIGHTS)),
        ((ARRAYS["float32"], 0.5), dict(axis=(2, 0), method="inverted_cdf",
                                        weights=np.abs(ARRAYS["float32"][:, 0].T))),
        ((ARRAYS["int8"], QUANTILE_Q), dict(method="inverted_cdf", keepdims=True))],
    "nanquantile": [((WITH_NAN, q), dict(axis=ax, method=m)) for q in (0.4, QUANTILE_Q)
                    for ax in (None, -1) for m in ("linear", "nearest", "inverted_cdf")] + [
        ((WITH_NAN, QUANTILE_Q), dict(axis=1, keepdims=True)),
        ((WITH_NAN, QUANTILE_Q), dict(axis=-1, method="inverted_cdf", weights=WEIGHTS))],
    "percentile": [((ARRAYS["float32"], 30), dict(axis=1)),
                   ((ARRAYS["int8"], np.array([10, 50, 90])), dict(axis=None)),
                   ((ARRAYS["float32"], 75.0), dict(axis=(0, 1), method="higher"))],
    "nanpercentile": [((WITH_NAN, 50), dict(axis=-1)),
                      ((WITH_NAN, np.array([25.0, 75.0])), dict(axis=0, keepdims=True))],
}


@pytest.mark.parametrize("name", list(CASES))
def test_reduction(name):
    run(name, CASES[name])


@pytest.mark.parametrize("name", list(QUANTILE_CASES))
def test_quantiles(name):
    run(name, QUANTILE_CASES[name], op_by_op=False)


@pytest.mark.parametrize("method", ["sum", "prod", "max", "min", "mean", "var", "std", "all",
                                    "any", "argmax", "argmin", "cumsum", "cumprod", "ptp"])
def test_array_methods(method):
    x = ARRAYS["float32"] if method not in ("all", "any") else ARRAYS["bool"]
    for kwargs in ({}, dict(axis=1), dict(axis=-1, keepdims=True) if method not in (
            "cumsum", "cumprod") else dict(axis=0, dtype=np.float16)):
        ours = getattr(jnp.asarray(x), method)(**kwargs)
        theirs = getattr(jref.asarray(x), method)(**kwargs)
        assert_same(ours, theirs, what=f"x.{method}({kwargs})")
    assert_same(jnp.asarray(x).sum(0, np.float32), jref.asarray(x).sum(0, np.float32))


def test_under_jit():
    """Reductions traced by jit (and type-checked with PYJAX_CHECKS) match eager."""
    x = ARRAYS["float32"]
    fns = [lambda x: jnp.sum(x, axis=1), lambda x: jnp.mean(x, where=x > 0),
           lambda x: jnp.var(x, axis=(0, 2), ddof=1), lambda x: jnp.argmax(x, axis=-1),
           lambda x: jnp.max(x, axis=0, initial=0.5), lambda x: jnp.cumsum(x, axis=2),
           lambda x: jnp.median(x, axis=1), lambda x: jnp.nanstd(x),
           lambda x: jnp.average(x, axis=0, weights=jnp.abs(x[:, 0, 0])),
           lambda x: jnp.quantile(x, jnp.array([0.2, 0.8]), axis=-1, keepdims=True)]
    for i, f in enumerate(fns):
        assert_same(pyjax.jit(f)(x), f(x), what=f"jit fn {i}")


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, error", [
    (lambda m: m.sum(np.ones(3), axis=2), ValueError),
    (lambda m: m.sum(np.ones(3), axis=(0, 0)), ValueError),
    (lambda m: m.sum(np.ones(3), axis=1.0), TypeError),
    (lambda m: m.max(np.ones((0,))), ValueError),
    (lambda m: m.max(np.ones(3), where=np.ones(3, bool)), ValueError),
    (lambda m: m.sum(np.ones(3), where=np.ones(3)), ValueError),
    (lambda m: m.sum(np.ones(3), out=np.ones(())), NotImplementedError),
    (lambda m: m.sum(np.ones(3), initial=np.ones(2)), ValueError),
    (lambda m: m.sum("abc"), TypeError),
    (lambda m: m.sum([1, 2]), TypeError),
    (lambda m: m.argmax(np.ones(0)), ValueError),
    (lambda m: m.argmax(np.ones(3), axis=2), IndexError),
    (lambda m: m.var(np.ones(3), ddof=1, correction=1), ValueError),
    (lambda m: m.var(np.ones(3, np.complex64), dtype=np.float32), ValueError),
    (lambda m: m.std(np.ones(3), dtype=np.int32), ValueError),
    (lambda m: m.cumsum(np.ones(3), axis=3), ValueError),
    (lambda m: m.cumulative_sum(np.ones((2, 2))), ValueError),
    (lambda m: m.cumulative_sum(np.float32(1)), ValueError),
    (lambda m: m.average(np.ones((2, 3)), weights=np.ones(3)), ValueError),
    (lambda m: m.average(np.ones((2, 3)), axis=0, weights=np.ones(3)), ValueError),
    (lambda m: m.quantile(np.ones(3), 0.5, method="foo"), ValueError),
    (lambda m: m.quantile(np.ones(3, np.complex64), 0.5), ValueError),
    (lambda m: m.quantile(np.ones(3), np.ones((2, 2)) / 2), ValueError),
    (lambda m: m.median(np.ones(3), out=np.ones(())), ValueError),
    (lambda m: m.quantile(np.ones(3), 0.5, weights=np.ones(3)), NotImplementedError),
    (lambda m: m.quantile(np.ones(3), 0.5, method="inverted_cdf", weights=np.ones(3) * 1j),
     ValueError),
    (lambda m: m.quantile(np.ones((2, 3)), 0.5, method="inverted_cdf", weights=np.ones(3)),
     ValueError),
    (lambda m: m.ptp(np.ones(3, bool)), TypeError),
])
def test_errors(call, error):
    with pytest.raises(error):
        call(jnp)
    with pytest.raises(error):
        call(jref)


# ---------------------------------------------------------------------------- gradients, vmap


_X = np.array([[[0.3, -1.2, 2.1, 0.7], [1.4, -0.5, 0.9, -2.2], [0.1, 1.7, -0.8, 1.1]],
               [[-1.3, 0.6, 1.9, -0.2], [2.4, 0.35, -1.6, 0.8], [-0.9, 1.25, 0.45, -1.8]]])
_MASK = np.abs(_X) > 0.5

GRAD_CASES = [
    lambda x: jnp.sum(x, axis=1), lambda x: jnp.prod(x, axis=(0, 2)),
    lambda x: jnp.max(x, axis=-1), lambda x: jnp.min(x, axis=0, keepdims=True),
    lambda x: jnp.mean(x, axis=(1, 2)), lambda x: jnp.var(x, axis=0, ddof=1),
    lambda x: jnp.std(x, axis=-1), lambda x: jnp.sum(x, where=_MASK, axis=2),
    lambda x: jnp.mean(x, where=_MASK, axis=1), lambda x: jnp.var(x, where=_MASK, axis=2),
    lambda x: jnp.ptp(x, axis=1), lambda x: jnp.cumsum(x, axis=1),
    lambda x: jnp.cumprod(x, axis=2), lambda x: jnp.nansum(x, axis=0),
    lambda x: jnp.nanmean(x, axis=1), lambda x: jnp.nanvar(x, axis=2),
    lambda x: jnp.average(x, axis=1, weights=jnp.array([1.0, 2.0, 3.0])),
    lambda x: jnp.median(x, axis=-1), lambda x: jnp.quantile(x, 0.3, axis=1),
    lambda x: jnp.max(x, axis=1, initial=1.0),
]


@pytest.mark.parametrize("i", range(len(GRAD_CASES)))
def test_grads(i, x64):
    check_grads(GRAD_CASES[i], (_X,), rtol=1e-5, atol=1e-6)


def test_grad_of_max_ties_matches_jax():
    x = np.array([1.0, 3.0, 3.0, 2.0], np.float32)
    assert_same(pyjax.grad(jnp.max)(x), jax.grad(jref.max)(x))
    assert_same(pyjax.grad(lambda x: jnp.mean(x ** 2))(x), jax.grad(lambda x: jref.mean(x ** 2))(x))


VMAP_CASES = [
    (lambda x: jnp.sum(x, axis=0), 1), (lambda x: jnp.mean(x, keepdims=True), 2),
    (lambda x: jnp.argmax(x, axis=-1), 0), (lambda x: jnp.var(x, axis=1, ddof=1), 1),
    (lambda x: jnp.cumsum(x, axis=0), 2), (lambda x: jnp.median(x, axis=0), 1),
    (lambda x: jnp.max(x, where=x > 0, initial=0.0), 0), (lambda x: jnp.nanmean(x), 2),
    (lambda x: jnp.quantile(x, jnp.array([0.25, 0.5]), axis=1), 0),
]


@pytest.mark.parametrize("i", range(len(VMAP_CASES)))
def test_vmap(i):
    fn, axis = VMAP_CASES[i]
    check_vmap(fn, [_X.astype(np.float32)], in_axes=axis)


def test_dtype_rules_with_x64(x64):
    """With x64 on, accumulations widen to 64 bits (but int32 means stay float32, as JAX)."""
    i32, i64 = ARRAYS["int32"], ARRAYS["int32"].astype(np.int64)
    cases = [("sum", ARRAYS["int8"]), ("sum", ARRAYS["uint8"]), ("prod", ARRAYS["bool"]),
             ("mean", i32), ("mean", i64), ("var", ARRAYS["uint8"]), ("argmax", i32),
             ("count_nonzero", i32), ("cumsum", ARRAYS["bool"]), ("nanmean", i64),
             ("median", i64), ("std", i64.astype(np.float64))]
    for name, x in cases:
        compare_cases(getattr(jnp, name), getattr(jref, name), [(x,)], f"x64 {name}")
    compare_cases(jnp.true_divide, jref.true_divide, [(i64, 2), (1, 2)], "x64 /")
    compare_cases(jnp.add, jref.add, [(ARRAYS["float32"], 1.0), (i64, 2.5), (2, 3)], "x64 +")


def test_int32_to_inexact_with_x64(x64):
    """JAX's to_inexact_dtype: int32 (and narrower) go to float32 even with x64 on."""
    i32 = ARRAYS["int32"]
    compare_cases(jnp.true_divide, jref.true_divide, [(i32, i32)], "x64 int32 / int32")
    for name in ("sin", "sqrt", "mean"):
        compare_cases(getattr(jnp, name), getattr(jref, name), [(ARRAYS["int8"],)],
                      f"x64 {name} of int8")
