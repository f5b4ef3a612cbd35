"""``lax.custom_linear_solve`` (the ``custom_linear_solve`` primitive) and
``lax.custom_root`` against JAX: values, gradients by implicit differentiation (through
solvers JAX could not differentiate: ``while_loop``s), vmap over every operand, errors."""
from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as J

import pyjax
import pyjax.numpy as P

import harness

RNG = np.random.default_rng(7)
A0 = RNG.standard_normal((3, 3)).astype(np.float32)
B0 = RNG.standard_normal(3).astype(np.float32)


def _programs(lib, L):
    """The same programs written against one library (``lib``: jax or pyjax, ``L``: its
    numpy)."""
    lax = lib.lax

    def symmetric(a, b):
        m = a @ a.T + 3 * L.eye(3, dtype=a.dtype)
        return lax.custom_linear_solve(lambda x: m @ x, b,
                                       lambda mv, x: L.linalg.solve(m, x), symmetric=True)

    def general(a, b):
        m = a + 3 * L.eye(3, dtype=a.dtype)
        return lax.custom_linear_solve(lambda x: m @ x, b,
                                       lambda mv, x: L.linalg.solve(m, x),
                                       lambda vm, x: L.linalg.solve(m.T, x))

    def iterative(a, b):
        """Jacobi iterations (a while_loop) on a diagonally dominant system: only the
        implicit rule differentiates it."""
        m = 0.1 * a + 4 * L.eye(3, dtype=a.dtype)

        def jacobi(mv, rhs):
            d = L.diag(m)
            step = lambda x: x + (rhs - mv(x)) / d  # noqa: E731
            return lax.fori_loop(0, 60, lambda i, x: step(x), L.zeros_like(rhs))
        return lax.custom_linear_solve(lambda x: m @ x, b, jacobi, jacobi)

    def tree_and_aux(a, b):
        """A pytree right-hand side, and solvers returning aux data."""
        m = a + 3 * L.eye(3, dtype=a.dtype)

        def mv(x):
            return {"u": m @ x["u"], "v": 2.0 * x["v"]}

        def solve(f, x):
            return {"u": L.linalg.solve(m, x["u"]), "v": x["v"] / 2.0}, L.sum(x["u"])

        def tsolve(f, x):
            return {"u": L.linalg.solve(m.T, x["u"]), "v": x["v"] / 2.0}, L.sum(x["u"])
        return lax.custom_linear_solve(mv, {"u": b, "v": b[:2]}, solve, tsolve, has_aux=True)

    def sqrt_root(c):
        def solve(f, x0):
            return lax.while_loop(lambda x: L.max(L.abs(f(x))) > 1e-6,
                                  lambda x: x - f(x) / (2 * x), x0)
        return lax.custom_root(lambda x: x * x - c, L.ones_like(c), solve,
                               lambda g, y: y / g(L.ones_like(y)))

    def root_aux(c):
        def f(x):
            return x[0] ** 3 - c, x[1] - 2 * c

        def solve(f, x0):
            return (L.cbrt(c), 2 * c), {"residual": L.sum(c)}

        def tangent_solve(g, y):
            ones = g((L.ones_like(y[0]), L.ones_like(y[1])))
            return y[0] / ones[0], y[1] / ones[1]
        return lax.custom_root(f, (c, c), solve, tangent_solve, has_aux=True)

    return dict(symmetric=symmetric, general=general, iterative=iterative,
                tree_and_aux=tree_and_aux, sqrt_root=sqrt_root, root_aux=root_aux)


OURS, THEIRS = _programs(pyjax, P), _programs(jax, J)
LINEAR = ["symmetric", "general", "iterative", "tree_and_aux"]
C0 = np.array([2.0, 3.0, 5.0], np.float32)


def _loss(lib, fn):
    return lambda *a: sum(lib.numpy.sum(x) for x in lib.tree_util.tree_leaves(fn(*a)))


@pytest.mark.parametrize("name", LINEAR)
def test_custom_linear_solve(name):
    ours, theirs = OURS[name], THEIRS[name]
    harness.assert_same(ours(A0, B0), jax.jit(theirs)(A0, B0), what="value", rtol=1e-4)
    harness.assert_same(pyjax.jit(ours)(A0, B0), theirs(A0, B0), what="jit", rtol=1e-4)
    g_ours = pyjax.grad(_loss(pyjax, ours), (0, 1))(A0, B0)
    g_theirs = jax.grad(_loss(jax, theirs), (0, 1))(A0, B0)
    harness.assert_same(g_ours, g_theirs, what="grad", rtol=1e-4, atol=1e-5)
    t_ours = pyjax.jvp(ours, (A0, B0), (B0[:, None] * A0, B0))[1]
    t_theirs = jax.jvp(theirs, (A0, B0), (B0[:, None] * A0, B0))[1]
    harness.assert_same(t_ours, t_theirs, what="jvp", rtol=1e-4, atol=1e-5)
    batch_a, batch_b = np.stack([A0, A0.T, 2 * A0]), np.stack([B0, B0 + 1, -B0])
    for axes, args in [((None, 0), (A0, batch_b)), ((0, None), (batch_a, B0)),
                       ((0, 0), (batch_a, batch_b))]:
        harness.assert_same(pyjax.vmap(ours, axes)(*args), jax.vmap(theirs, axes)(*args),
                            what=f"vmap {axes}", rtol=1e-4, atol=1e-5)


def test_custom_linear_solve_second_order_and_x64():
    with harness.x64_mode():
        a, b = A0.astype(np.float64), B0.astype(np.float64)
        harness.check_grads(lambda a, b: OURS["general"](a, b), [a, b], rtol=1e-5)
        hess = lambda lib, fn: lib.hessian(lambda b: lib.numpy.sum(fn(a, b) ** 3))  # noqa: E731
        harness.assert_same(hess(pyjax, OURS["symmetric"])(b),
                            hess(jax, THEIRS["symmetric"])(b), rtol=1e-9, atol=1e-10)


def test_custom_linear_solve_binds_its_primitive():
    jaxpr = pyjax.make_jaxpr(OURS["general"])(A0, B0)
    assert [e.prim.name for e in jaxpr.jaxpr.eqns][-1] == "custom_linear_solve"
    assert pyjax.lax.linear_solve_p.name == jax.lax.linear_solve_p.name


@pytest.mark.parametrize("name", ["sqrt_root", "root_aux"])
def test_custom_root(name):
    ours, theirs = OURS[name], THEIRS[name]
    harness.assert_same(ours(C0), theirs(C0), what="value", rtol=1e-5)
    harness.assert_same(pyjax.jit(ours)(C0), theirs(C0), what="jit", rtol=1e-5)
    harness.assert_same(pyjax.grad(_loss(pyjax, ours))(C0), jax.grad(_loss(jax, theirs))(C0),
                        what="grad", rtol=1e-5)
    harness.assert_same(pyjax.jvp(ours, (C0,), (C0 - 1,))[1],
                        jax.jvp(theirs, (C0,), (C0 - 1,))[1], what="jvp", rtol=1e-5)
    batch = np.stack([C0, C0 + 1])
    harness.assert_same(pyjax.vmap(ours)(batch), jax.vmap(theirs)(batch), what="vmap",
                        rtol=1e-5)


def test_errors_match_jax():
    def no_transpose(lib, L):
        m = A0 + 3 * np.eye(3, dtype=np.float32)
        return lambda b: L.sum(lib.lax.custom_linear_solve(
            lambda x: m @ x, b, lambda mv, x: L.linalg.solve(m, x)))

    def wrong_tree(lib, L):
        return lambda b: lib.lax.custom_linear_solve(lambda x: (x, x), b, lambda mv, x: x)

    def wrong_shape(lib, L):
        return lambda b: lib.lax.custom_linear_solve(lambda x: x[:2], b, lambda mv, x: x)

    def root_wrong_tree(lib, L):
        return lambda c: lib.lax.custom_root(lambda x: (x, x), c, lambda f, x: x,
                                             lambda g, y: y)
    for make, wrap in [(no_transpose, "grad"), (wrong_tree, None), (wrong_shape, None),
                       (root_wrong_tree, None)]:
        theirs, ours = make(jax, J), make(pyjax, P)
        if wrap:
            theirs, ours = jax.grad(theirs), pyjax.grad(ours)
        with pytest.raises(Exception) as expected:
            theirs(B0)
        with pytest.raises(expected.type):
            ours(B0)
