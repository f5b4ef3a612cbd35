"""``pyjax.scipy.optimize.minimize`` against ``jax.scipy.optimize.minimize``: every field of
OptimizeResults. Evaluation and iteration counts are compared in float64, where both
libraries take the same steps; in float32 a last-bit difference in a gradient can change
a line search's path (JAX's own results shift that way between backends), so float32
cases compare the minimum reached on well-conditioned problems."""
from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as J
import jax.scipy.optimize as JO

import pyjax
import pyjax.numpy as P
import pyjax.scipy.optimize as PO
from harness import assert_same

LBFGS = "l-bfgs-experimental-do-not-rely-on-this"
A = np.diag(np.arange(1., 5.))


def rosenbrock(m):
    return lambda x: m.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def quadratic(m):
    return lambda x, c: m.dot(x, m.dot(A.astype(x.dtype), x)) / 2 + m.sum(c * x)


def himmelblau(m):
    return lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


PROBLEMS = [(rosenbrock, np.array([-1.2, 1.0, 0.5, 0.3]), ()),
            (quadratic, np.array([1.0, -2.0, 0.5, 3.0]), (1.5,)),
            (himmelblau, np.array([0.5, -0.3]), ())]


@pytest.mark.parametrize("method", ["BFGS", LBFGS])
@pytest.mark.parametrize("problem", range(len(PROBLEMS)))
def test_results_match_jax_x64(x64, method, problem):
    f, x0, args = PROBLEMS[problem]
    theirs = JO.minimize(f(J), J.asarray(x0), args, method=method)
    ours = PO.minimize(f(P), P.asarray(x0), args, method=method)
    assert type(ours).__name__ == "OptimizeResults" and ours._fields == theirs._fields
    for name in theirs._fields:
        if getattr(theirs, name) is None:
            assert getattr(ours, name) is None, name
            continue
        assert_same(getattr(ours, name), getattr(theirs, name), rtol=1e-6, atol=1e-8,
                    what=name)


@pytest.mark.parametrize("method", ["BFGS", LBFGS])
def test_float32_minimum_and_types(method):
    x0 = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    theirs = JO.minimize(quadratic(J), J.asarray(x0), (1.5,), method=method)
    ours = PO.minimize(quadratic(P), P.asarray(x0), (1.5,), method=method)
    if method == "BFGS":  # JAX's float32 L-BFGS stops early here too (a failed search)
        np.testing.assert_allclose(ours.x, -1.5 / np.arange(1., 5.), rtol=1e-4)
    for name in ("x", "fun"):
        assert_same(getattr(ours, name), getattr(theirs, name), rtol=1e-4, atol=1e-5)
    for name in ("success", "status", "nfev", "njev", "nit", "jac"):
        o, t = getattr(ours, name), getattr(theirs, name)
        assert (o.dtype, o.shape, o.weak_type) == (t.dtype, t.shape, t.weak_type), name


def test_options_maxiter_and_gtol(x64):
    f, x0, _ = PROBLEMS[0]
    for options in ({"maxiter": 5}, {"gtol": 1e-2}, {"line_search_maxiter": 3}):
        theirs = JO.minimize(f(J), J.asarray(x0), method="BFGS", options=options)
        ours = PO.minimize(f(P), P.asarray(x0), method="BFGS", options=options)
        for name in ("x", "status", "nit", "nfev"):
            assert_same(getattr(ours, name), getattr(theirs, name), rtol=1e-6)
    theirs = JO.minimize(f(J), J.asarray(x0), method=LBFGS, options={"maxcor": 3, "maxiter": 7})
    ours = PO.minimize(f(P), P.asarray(x0), method=LBFGS, options={"maxcor": 3, "maxiter": 7})
    for name in ("x", "status", "nit", "nfev"):
        assert_same(getattr(ours, name), getattr(theirs, name), rtol=1e-6)


@pytest.mark.parametrize("method", ["BFGS", LBFGS])
def test_jit_and_vmap(method):
    x0 = np.random.RandomState(0).randn(3, 4).astype(np.float32)

    def solve(m, mod):
        return lambda x: mod.minimize(quadratic(m), x, (2.0,), method=method)
    batched = pyjax.jit(pyjax.vmap(solve(P, PO)))(x0)
    theirs = jax.jit(jax.vmap(solve(J, JO)))(x0)
    np.testing.assert_allclose(batched.x, theirs.x, rtol=1e-3, atol=1e-3)
    for i in range(3):
        one = solve(P, PO)(P.asarray(x0[i]))
        np.testing.assert_allclose(batched.x[i], one.x, rtol=1e-5, atol=1e-5)
        assert int(batched.nit[i]) == int(one.nit)


def test_errors_match_jax():
    f = rosenbrock(P)
    with pytest.raises(ValueError, match="Method nelder-mead not recognized"):
        PO.minimize(f, P.zeros(2), method="nelder-mead")
    with pytest.raises(TypeError, match="must be a tuple"):
        PO.minimize(quadratic(P), P.zeros(4), [1.0], method="BFGS")
    with pytest.raises(TypeError):
        PO.minimize(f, P.zeros(2))
    with pytest.raises(TypeError, match="scalar-output"):
        PO.minimize(lambda x: x * 2, P.zeros(2), method="BFGS")
