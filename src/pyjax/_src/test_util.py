"""``jax.test_util``: gradients checked against central finite differences along one random
direction per check (cheap for any input and output size), up to a given order."""
from __future__ import annotations

import functools

import numpy as np

from pyjax._src import api, tree_util

EPS = 1e-4
_TOLERANCE = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 2e-3,
              np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 1e-3,
              np.dtype(np.complex128): 1e-5}


def _tolerance(given, values) -> float:
    if given is not None:
        return given
    dts = [np.asarray(x).dtype for x in tree_util.tree_leaves(values)]
    return max([_TOLERANCE.get(d, 1e-5) for d in dts], default=1e-5)


def _random_like(rng, x):
    x = np.asarray(x)
    t = rng.standard_normal(x.shape)
    if x.dtype.kind == "c":
        t = t + 1j * rng.standard_normal(x.shape)
    return t.astype(x.dtype if x.dtype.kind in "fc" else np.float64)


def _in_dtype_of(x, value):
    return np.asarray(value, dtype=np.asarray(x).dtype)


def numerical_jvp(f, primals, tangents, eps=EPS):
    """``(f(x + eps t) - f(x - eps t)) * (0.5 / eps)`` leaf by leaf, each step in the
    leaf's dtype as JAX takes it (equal values differ by 0, also ``inf - inf``)."""
    delta = tree_util.tree_map(lambda t: np.multiply(t, _in_dtype_of(t, eps)), tangents)
    shift = lambda sign: tree_util.tree_map(  # noqa: E731
        lambda x, d: _in_dtype_of(x, np.asarray(x) + sign * d), primals, delta)
    plus, minus = f(*shift(1)), f(*shift(-1))

    def difference(p, m):
        p, m = np.asarray(p), np.asarray(m)
        with np.errstate(invalid="ignore"):
            d = np.where(p == m, np.zeros((), p.dtype), np.subtract(p, m, dtype=p.dtype))
        return np.multiply(d, _in_dtype_of(d, 0.5 / eps))
    return tree_util.tree_map(difference, plus, minus)


def _inner(xs, ys):
    """The real part of ``<xs, ys>``, leaf by leaf in the leaves' dtype, as JAX sums it."""
    parts = [np.real(np.dot(np.conj(np.asarray(x)).reshape(-1), np.asarray(y).reshape(-1)))
             for x, y in zip(tree_util.tree_leaves(xs), tree_util.tree_leaves(ys))]
    return functools.reduce(np.add, parts)


def _close(got, want, atol, rtol, what):
    for g, w in zip(tree_util.tree_leaves(got), tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=atol, rtol=rtol,
                                   err_msg=what)


def check_jvp(f, f_jvp, args, atol=None, rtol=None, eps=EPS, err_msg=""):
    """``f_jvp(args, tangents)`` (``partial(jvp, f)``) against finite differences of ``f``."""
    tangents = tree_util.tree_map(functools.partial(_random_like, np.random.RandomState(0)), args)
    out, t_out = f_jvp(args, tangents)
    atol, rtol = _tolerance(atol, out), _tolerance(rtol, out)
    _close(out, f(*args), atol, rtol, f"{err_msg} primal")
    _close(t_out, numerical_jvp(f, args, tangents, eps), atol, rtol, f"{err_msg} tangent")


def check_vjp(f, f_vjp, args, atol=None, rtol=None, eps=EPS, err_msg=""):
    """``f_vjp(*args)`` (``partial(vjp, f)``): ``<vjp(ct), t> == <ct, jvp(t)>`` with the JVP
    from finite differences."""
    rng = np.random.RandomState(0)
    out, pullback = f_vjp(*args)
    atol, rtol = _tolerance(atol, out), _tolerance(rtol, out)
    _close(out, f(*args), atol, rtol, f"{err_msg} primal")
    # (JAX's order of random draws: the input direction, then the cotangent)
    tangents = tree_util.tree_map(functools.partial(_random_like, rng), args)
    numerical = numerical_jvp(f, args, tangents, eps)
    ct = tree_util.tree_map(functools.partial(_random_like, rng), out)
    cts = tree_util.tree_map(np.conj, pullback(tree_util.tree_map(np.conj, ct)))
    lhs, rhs = _inner(tangents, cts), _inner(numerical, ct)
    np.testing.assert_allclose(np.real(lhs), np.real(rhs), atol=atol, rtol=rtol,
                               err_msg=f"{err_msg} VJP")


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check forward (``"fwd"``) and reverse (``"rev"``) derivatives of ``f`` at ``args``
    up to ``order``, each order by differentiating the previous one."""
    args, eps = tuple(args), eps or EPS
    if "fwd" in modes:
        check_jvp(f, functools.partial(api.jvp, f), args, atol, rtol, eps, "JVP")
        if order > 1:
            check_grads(functools.partial(api.jvp, f), (args, args), order - 1, modes,
                        atol, rtol, eps)
    if "rev" in modes:
        check_vjp(f, functools.partial(api.vjp, f), args, atol, rtol, eps, "VJP")
        if order > 1:
            def pulled_back(*xs):
                out, pullback = api.vjp(f, *xs)
                return pullback(out)
            check_grads(pulled_back, args, order - 1, modes, atol, rtol, eps)
