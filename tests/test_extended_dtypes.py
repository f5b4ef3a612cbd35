"""ml_dtypes' types as JAX has them (bfloat16, the float8s, int4 ...): scalar types, finfo and
iinfo, issubdtype, arithmetic eagerly and under jit against JAX, gradients, and the lazy
import of ml_dtypes. The promotion lattice over them is in test_dtypes.py."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax._src import dtypes

RNG = np.random.default_rng(0)

FLOATS = ["bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e5m2fnuz", "float8_e4m3b11fnuz"]

# Ops whose float32 result each dtype rounds once: every bit must be JAX's.
EXACT = {
    "add": lambda M, a, b: a + b, "sub": lambda M, a, b: a - b, "mul": lambda M, a, b: a * b,
    "div": lambda M, a, b: a / b, "neg": lambda M, a, b: -a, "abs": lambda M, a, b: M.abs(a),
    "lt": lambda M, a, b: a < b, "maximum": lambda M, a, b: M.maximum(a, b),
    "where": lambda M, a, b: M.where(a > 0, a, b), "scalar": lambda M, a, b: a * 2 + 1.5,
    "to_f32": lambda M, a, b: a.astype(M.float32), "chain": lambda M, a, b: (a * b + a) * b,
    "sqrt": lambda M, a, b: M.sqrt(b), "max": lambda M, a, b: M.max(a, axis=0),
    "sort": lambda M, a, b: M.sort(a, axis=1), "slice": lambda M, a, b: a[1:, ::2].T,
    "from_f32": lambda M, a, b: M.linspace(-2, 2, 7).astype(a.dtype),
}
# Transcendental ops: XLA's float32 kernels and libm's may differ in the last float32 bit,
# which rounding to 8 or 16 bits hides except at rounding boundaries: one ulp allowed.
ROUNDED = {
    "exp": lambda M, a, b: M.exp(a), "sin": lambda M, a, b: M.sin(a),
    "tanh": lambda M, a, b: M.tanh(a), "log": lambda M, a, b: M.log(b),
    "sum": lambda M, a, b: M.sum(a, axis=1), "mean": lambda M, a, b: M.mean(a),
    "matmul": lambda M, a, b: a @ b.T, "softmax": lambda M, a, b: M.exp(a) / M.sum(M.exp(a)),
    "pow": lambda M, a, b: b ** 2.5,
}


def _operands(name):
    dt = dtypes.as_dtype(name)
    a = RNG.normal(size=(4, 5)).astype(np.float32).astype(dt)
    b = RNG.uniform(0.5, 2.0, size=(4, 5)).astype(np.float32).astype(dt)
    return a, b


def _check(name, ops, ulps):
    a, b = _operands(name)
    theirs = jax.jit(lambda a, b: {k: f(jnp_ref, a, b) for k, f in ops.items()})(a, b)
    eps = float(dtypes.finfo(name).eps)
    for k, f in ops.items():
        for mode, ours in (("eager", f(jnp, jnp.asarray(a), jnp.asarray(b))),
                           ("jit", pyjax.jit(lambda a, b, f=f: f(jnp, a, b))(a, b))):
            t = theirs[k]
            what = f"{name} {k} {mode}"
            assert (ours.dtype, ours.weak_type) == (t.dtype, t.weak_type), what
            o, r = np.asarray(ours).astype(np.float32), np.asarray(t).astype(np.float32)
            np.testing.assert_allclose(o, r, rtol=ulps * eps, atol=0, err_msg=what)


@pytest.mark.parametrize("name", FLOATS)
def test_float_arithmetic_matches_jax(name):
    _check(name, EXACT, 0)
    _check(name, ROUNDED, 1)


@pytest.mark.parametrize("name", ["int4", "uint4"])
def test_int_arithmetic_matches_jax(name):
    dt = dtypes.as_dtype(name)
    a = RNG.integers(0, 3, size=(3, 4)).astype(dt)
    b = RNG.integers(1, 3, size=(3, 4)).astype(dt)
    ops = {"add": lambda M, a, b: a + b, "mul": lambda M, a, b: a * b,
           "lt": lambda M, a, b: a < b, "max": lambda M, a, b: M.maximum(a, b),
           "scalar": lambda M, a, b: a + 1, "to_f32": lambda M, a, b: a.astype(M.float32),
           "where": lambda M, a, b: M.where(a > b, a, b), "idx": lambda M, a, b: a[1:, ::2]}
    theirs = jax.jit(lambda a, b: {k: f(jnp_ref, a, b) for k, f in ops.items()})(a, b)
    for k, f in ops.items():
        ours = f(jnp, jnp.asarray(a), jnp.asarray(b))
        jitted = pyjax.jit(lambda a, b, f=f: f(jnp, a, b))(a, b)
        for o in (ours, jitted):
            assert (o.dtype, o.weak_type) == (theirs[k].dtype, theirs[k].weak_type), k
            np.testing.assert_array_equal(np.asarray(o).astype(np.int32),
                                          np.asarray(theirs[k]).astype(np.int32), err_msg=k)


def test_scalar_types_finfo_iinfo():
    for name in dtypes.EXTENDED_NAMES:
        ours, theirs = getattr(jnp, name), getattr(jnp_ref, name)
        assert jnp.dtype(ours) == jnp_ref.dtype(theirs) == jnp.dtype(name), name
        assert ours == theirs.dtype.type and ours.__name__ == name
        x = ours(1)
        assert (x.dtype, x.shape, x.weak_type) == (theirs.dtype, (), False), name
        if name in dtypes.EXTENDED_FLOATS:
            f, g = jnp.finfo(ours), jnp_ref.finfo(theirs)
            assert (f.eps, f.max, f.bits, f.dtype) == (g.eps, g.max, g.bits, g.dtype), name
        else:
            i, j = jnp.iinfo(name), jnp_ref.iinfo(theirs)
            assert (i.min, i.max, i.bits) == (j.min, j.max, j.bits), name
        for cat in (jnp_ref.floating, jnp_ref.integer, jnp_ref.signedinteger,
                    jnp_ref.unsignedinteger, jnp_ref.inexact, jnp_ref.number, jnp_ref.generic):
            assert jnp.issubdtype(ours, cat) == jnp_ref.issubdtype(theirs, cat), (name, cat)
    assert set(dtypes.EXTENDED_NAMES) <= set(dir(jnp))
    assert jnp.zeros(3, "bfloat16").dtype == jnp_ref.bfloat16
    for value, name in ((9, "int4"), (-3, "uint2"), (5, "uint4")):  # JAX wraps, as NumPy
        ours, theirs = jnp.array(value, name), jnp_ref.array(value, name)
        assert np.asarray(ours).astype(int) == np.asarray(theirs).astype(int), (value, name)
    with pytest.raises(AttributeError):
        jnp.float7  # noqa: B018


def test_bfloat16_under_transformations():
    x = np.linspace(-1, 1, 6).astype(jnp_ref.bfloat16)

    def f(M, v):
        return M.sum(M.tanh(v) * v)
    theirs = jax.jit(lambda v: (jax.grad(lambda u: f(jnp_ref, u))(v),
                                jax.vmap(lambda u: u * 3 + 1)(v)))(x)
    ours = (pyjax.grad(lambda u: f(jnp, u))(x), pyjax.vmap(lambda u: u * 3 + 1)(x))
    for o, t in zip(ours, theirs):
        assert o.dtype == t.dtype == jnp_ref.bfloat16
        np.testing.assert_allclose(np.asarray(o, np.float32), np.asarray(t, np.float32),
                                   rtol=2 ** -7)
    assert "bf16[6]" in str(pyjax.make_jaxpr(lambda v: v + v)(x))


def test_small_types_do_not_promote():
    with pytest.raises(ValueError, match="no available implicit dtype promotion"):
        jnp.ones(3, jnp.float8_e4m3fn) + jnp.ones(3, jnp.float32)
    assert (jnp.ones(3, jnp.float8_e4m3fn) + 1.0).dtype == jnp.float8_e4m3fn
    assert issubclass(pyjax.dtypes.TypePromotionError, ValueError)


def test_import_pyjax_leaves_ml_dtypes_unimported():
    """ml_dtypes costs ~0.5 s to import: only naming one of its types imports it."""
    code = ("import sys, pyjax, pyjax.numpy as jnp; x = jnp.ones(3) + 1; "
            "assert 'ml_dtypes' not in sys.modules; jnp.bfloat16; "
            "assert 'ml_dtypes' in sys.modules")
    src = str(Path(pyjax.__file__).parents[1])
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   env={**os.environ, "PYTHONPATH": src})
