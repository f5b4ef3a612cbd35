"""The last of ``jax.numpy``'s names against JAX: the scalar-type classes ``bool``,
``character``, ``flexible``, ``object_``; ``roots`` (companion-matrix eigenvalues, with
and without ``strip_zeros``), ``poly`` of a matrix, and ``polyfit`` of complex data."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import jax
import jax.numpy as J

import pyjax
import pyjax.numpy as P

import harness

CLASSES = ["bool", "bool_", "character", "flexible", "object_", "generic", "number",
           "integer", "floating", "inexact", "float32"]
OTHER_TYPES = [np.str_, np.bytes_, np.object_, np.bool_, np.float32, np.int8, "float32",
               np.void, np.complex64]


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - JAX's error class is the expectation
        return type(e)


def test_scalar_type_classes_issubdtype():
    bad = []
    for a, b in itertools.product(CLASSES + OTHER_TYPES, CLASSES):
        theirs = _outcome(lambda: J.issubdtype(getattr(J, a) if a in CLASSES else a,
                                               getattr(J, b)))
        ours = _outcome(lambda: P.issubdtype(getattr(P, a) if a in CLASSES else a,
                                             getattr(P, b)))
        if ours != theirs:
            bad.append((a, b, theirs, ours))
    assert not bad, bad


def test_scalar_type_classes_as_values_and_dtypes():
    assert P.bool is P.bool_ and P.character is J.character and P.object_ is J.object_
    for x in [1, [0, 1], np.array([2.5, 0.0])]:
        harness.assert_same(P.bool(x), J.bool(x))
    harness.assert_same(P.zeros(2, dtype=P.bool), J.zeros(2, dtype=J.bool))
    harness.assert_same(P.asarray([1, 0], dtype=P.bool), J.asarray([1, 0], dtype=J.bool))
    assert P.object_(1) == J.object_(1)
    for name in ["character", "flexible", "object_"]:
        with pytest.raises(TypeError):
            J.zeros(2, dtype=getattr(J, name))
        with pytest.raises(TypeError):
            P.zeros(2, dtype=getattr(P, name))


POLYS = [np.array([1.0, -3, 2], np.float32), np.array([0, 0, 1.0, 2, 5], np.float32),
         np.array([2.0], np.float32), np.array([0.0, 0.0], np.float32),
         np.array([1, 0, 0, 1.0], np.float32), np.array([1 + 2j, 3, 1j], np.complex64),
         np.array([0, 2, 0, -8], np.int32)]


@pytest.mark.parametrize("p", POLYS, ids=lambda p: f"{p.dtype.name}{list(p)}")
def test_roots(p):
    # (eigenvalues come in LAPACK's order: both use the same routine; sorted to be safe)
    harness.assert_same(P.sort_complex(P.roots(p)), J.sort_complex(J.roots(p)),
                        rtol=1e-4, atol=1e-5)
    ours = pyjax.jit(lambda p: P.roots(p, strip_zeros=False))(p)
    theirs = jax.jit(lambda p: J.roots(p, strip_zeros=False))(p)
    harness.assert_same(ours, theirs, rtol=1e-4, atol=1e-5)


def test_roots_x64_and_errors():
    with harness.x64_mode():
        p = np.array([1.0, 0, -2, 0.5])
        harness.assert_same(P.sort_complex(P.roots(p)), J.sort_complex(J.roots(p)))
    for bad in [lambda L, jit: jit(L.roots)(np.ones(3, np.float32)),
                lambda L, jit: L.roots(np.ones((2, 2), np.float32))]:
        theirs = _outcome(lambda: bad(J, jax.jit))
        ours = _outcome(lambda: bad(P, pyjax.jit))
        assert isinstance(theirs, type) and issubclass(theirs, Exception)
        assert ours.__name__ == theirs.__name__, (ours, theirs)


def test_poly_of_a_matrix():
    a = np.array([[1.0, 2], [3, 4]], np.float32)
    harness.assert_same(P.poly(a), J.poly(a), rtol=1e-4, atol=1e-5)


X = np.linspace(0, 1, 7).astype(np.float32)
YC = (X ** 2 + 1j * X).astype(np.complex64)
XC = (X + 0.5j * X[::-1]).astype(np.complex64)


@pytest.mark.parametrize("x,y", [(X, YC), (XC, YC), (XC, X), (X, np.stack([YC, YC * 2], 1))],
                         ids=["real-x", "complex-x", "complex-x-real-y", "2d-y"])
def test_polyfit_complex(x, y):
    for kw in [{}, dict(full=True), dict(cov=True), dict(cov="unscaled", w=X + 1)]:
        harness.assert_same(P.polyfit(x, y, 2, **kw), J.polyfit(x, y, 2, **kw),
                            rtol=2e-3, atol=2e-4, what=str(kw))


# ---------------------------------------------------------------------------- small fixes

def _bits_equal(ours, theirs):
    o, t = np.asarray(ours), np.asarray(theirs)
    assert o.dtype == t.dtype and o.shape == t.shape
    for part in ((o.real, t.real), (o.imag, t.imag)) if o.dtype.kind == "c" else ((o, t),):
        np.testing.assert_allclose(part[0], part[1], rtol=1e-6, equal_nan=True)
        assert (np.signbit(part[0]) == np.signbit(part[1])).all(), (ours, theirs)


def test_floor_divide_and_round_keep_zero_signs():
    """``+0.0 // negative`` is -0.0 in JAX (its divmod ends in ``round``, which keeps the
    sign of zero); ``lax.round`` away from zero also rounds 0.49999997 down."""
    a = np.array([0.0, -0.0, 0.0, -0.0, 1, -1, 5, -5, np.inf, -np.inf, np.nan, 0, 7, -7, 0],
                 np.float32)
    b = np.array([-2.0, -2, 2, 2, np.inf, np.inf, -np.inf, -np.inf, 2, -2, 1, 0, 0, 0,
                  -np.inf], np.float32)
    for name in ["floor_divide", "divmod", "remainder"]:
        _bits_equal(getattr(P, name)(a, b), jax.jit(getattr(J, name))(a, b))
        _bits_equal(pyjax.jit(getattr(P, name))(a, b), getattr(J, name)(a, b))
        _bits_equal(getattr(P, name)(a, np.float32(-3)), getattr(J, name)(a, np.float32(-3)))
    for dt in (np.float16, np.float32):
        x = np.array([-0.0, 0.0, -0.4, 0.4, -0.5, 0.5, -2.5, 2.5, 0.49999997, -0.49999997,
                      1.5, 2049, -np.inf, np.inf, np.nan], dt)
        for method in (0, 1):
            _bits_equal(pyjax.lax.round(x, method), jax.lax.round(x, method))


def test_expm1_complex_on_the_real_axis():
    x = np.array([1, -1, 0, -0.0, np.inf, -np.inf, np.nan, 100, 1e-3], np.float32)
    for imag in (0.0, -0.0, 1.0):
        z = np.empty(x.shape, np.complex64)
        z.real, z.imag = x, imag
        _bits_equal(P.expm1(z), jax.jit(J.expm1)(z))
        _bits_equal(pyjax.jit(P.expm1)(z), J.expm1(z))


def test_grad_through_lax_complex():
    """``lax.complex`` is linear (transpose: real part to x, minus the imaginary to y)."""
    x, y = np.array([1.0, 2], np.float32), np.array([3.0, -1], np.float32)

    def loss(lax, np_):
        return lambda a, b: (np_.real(lax.complex(a, b) * (2 - 3j)).sum()
                             + np_.imag(lax.complex(a, b) ** 2).sum())
    for b in (y, np.float32(2)):
        harness.assert_same(pyjax.grad(loss(pyjax.lax, P), (0, 1))(x, b),
                            jax.grad(loss(jax.lax, J), (0, 1))(x, b))
    ct = (1 + 2j) * np.ones(2, np.complex64)
    harness.assert_same(pyjax.linear_transpose(pyjax.lax.complex, x, y)(ct),
                        jax.linear_transpose(jax.lax.complex, x, y)(ct))
    with harness.x64_mode():
        harness.check_grads(lambda a, b: P.abs(pyjax.lax.complex(a, b) ** 3), [x, y])


def test_jnp_structural_functions_bind_jaxs_primitives():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    cases = [lambda m, a: m.stack([a, a], 1), lambda m, a: m.split(a, 2, 1),
             lambda m, a: m.array_split(a, 3, 1), lambda m, a: m.tile(a, (2, 1)),
             lambda m, a: m.tile(a, 3), lambda m, a: m.unstack(a, axis=1),
             lambda m, a: m.hsplit(a, [1, 3])]
    for fn in cases:
        harness.assert_same(fn(P, x), fn(J, x))
        ours = pyjax.make_jaxpr(lambda a: fn(P, a))(x).jaxpr.eqns
        theirs = jax.make_jaxpr(lambda a: fn(J, a))(x).jaxpr.eqns
        assert [e.prim.name for e in ours] == [e.primitive.name for e in theirs]
    g = pyjax.grad(lambda a: sum((p ** 2).sum() for p in P.split(P.tile(a, (2, 1)), 2, 1)))(x)
    harness.assert_same(g, jax.grad(lambda a: sum((p ** 2).sum() for p in J.split(
        J.tile(a, (2, 1)), 2, 1)))(x))
