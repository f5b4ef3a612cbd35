"""``jax.custom_batching`` (custom_vmap, sequential_vmap) and ``jax.custom_derivatives``
(symbolic zeros, CustomVJPPrimal, linear_call, zero_from_primal), against JAX."""
from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax.test_util import check_grads

from harness import assert_same

LIBS = [(pyjax, jnp), (jax, jjnp)]


def _make_custom_vmap(lib, np_, calls):
    @lib.custom_batching.custom_vmap
    def f(x, y):
        return {"out": np_.sin(x) * y}

    @f.def_vmap
    def rule(axis_size, in_batched, x, y):
        calls.append((axis_size, list(in_batched)))
        xb, yb = in_batched
        # (a rule may compute differently from the body: it is what vmap runs)
        return {"out": np_.sin(x) * y + 100.0}, {"out": xb or yb}
    return f


def test_custom_vmap_runs_its_rule_under_vmap_and_the_body_otherwise():
    x, y = np.linspace(0, 1, 3).astype(np.float32), np.float32(2)
    results = []
    for lib, np_ in LIBS:
        calls = []
        f = _make_custom_vmap(lib, np_, calls)
        outs = [f(x[0], y)["out"], lib.vmap(f, (0, None))(x, y)["out"],
                lib.jit(lib.vmap(f, (0, None)))(x, y)["out"],
                lib.vmap(f, (None, 0))(x[1], x)["out"],
                lib.vmap(lib.vmap(f, (0, None)), (None, 0))(x, x)["out"],
                *[o["out"] for o in lib.vmap(lambda a: lib.jvp(f, (a, y), (1.0, 0.0)))(x)],
                lib.grad(lambda a: lib.vmap(f, (0, None))(a, y)["out"].sum())(x)]
        results.append(([np.asarray(o) for o in outs], calls))
    (ours, our_calls), (theirs, their_calls) = results
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-6)
    # the rule runs where JAX runs it (under vmap of jvp, JAX's rule sees its arguments as
    # unbatched: an artifact of how it differentiates, values agree)
    assert our_calls[:4] == their_calls[:4] and len(our_calls) == len(their_calls)
    # (JAX cannot linearize a custom_vmap function outside vmap; pyjax differentiates its body)
    f = _make_custom_vmap(pyjax, jnp, [])
    np.testing.assert_allclose(pyjax.vmap(pyjax.grad(lambda a, b: f(a, b)["out"]), (0, None))(
        x, y), np.cos(x) * y, rtol=1e-6)
    assert "custom_vmap_call" in str(pyjax.make_jaxpr(_make_custom_vmap(pyjax, jnp, []))(
        1.0, 2.0))


def test_custom_vmap_errors():
    f = pyjax.custom_batching.custom_vmap(lambda x: x)
    with pytest.raises(AttributeError, match="No batching rule"):
        f(1.0)
    f.def_vmap(lambda n, b, x: (x[:1], b[0]))  # wrong batch size
    with pytest.raises(ValueError, match="custom vmap rule"):
        pyjax.vmap(f)(jnp.ones(3))
    f.def_vmap(lambda n, b, x: ((x, x), (True, True)))  # wrong structure
    with pytest.raises(ValueError, match="structure"):
        pyjax.vmap(f)(jnp.ones(3))


def test_sequential_vmap_matches_jax():
    a = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    outs = []
    for lib, np_ in LIBS:
        g = lib.custom_batching.sequential_vmap(lambda u, v: np_.tanh(u @ v))
        outs.append([lib.vmap(g, (0, None))(a, b), lib.vmap(g, (None, 0))(a[0], np.stack([b] * 2))])
    for o, t in zip(*outs):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-5, atol=1e-6)
    # (JAX cannot linearize custom_vmap functions; pyjax differentiates the body)
    g = pyjax.custom_batching.sequential_vmap(lambda u, v: jnp.tanh(u @ v))
    got = pyjax.grad(lambda u: pyjax.vmap(g, (0, None))(u, b).sum())(a)
    want = jax.grad(lambda u: jjnp.tanh(u @ b).sum())(a)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    scan = str(pyjax.make_jaxpr(pyjax.vmap(pyjax.custom_batching.sequential_vmap(jnp.sin)))(
        jnp.ones(3)))
    assert "scan" in scan


def _symbolic_jvp_case(lib):
    cd, seen = lib.custom_derivatives, []

    @lib.custom_jvp
    def f(x, y):
        return x * y

    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        seen.append(tuple(isinstance(t, cd.SymbolicZero) for t in tangents))
        if isinstance(tx, cd.SymbolicZero):
            return x * y, x * ty
        if isinstance(ty, cd.SymbolicZero):
            return x * y, tx * y
        return x * y, tx * y + x * ty
    f.defjvp(f_jvp, symbolic_zeros=True)
    vals = [lib.grad(f)(2.0, 3.0), lib.grad(f, argnums=1)(2.0, 3.0),
            lib.jvp(f, (2.0, 3.0), (1.0, 1.0))[1], lib.jit(lib.grad(f))(2.0, 3.0)]
    return vals, seen


def test_custom_jvp_rules_see_symbolic_zeros_as_jax_passes_them():
    (ours, our_seen), (theirs, their_seen) = _symbolic_jvp_case(pyjax), _symbolic_jvp_case(jax)
    np.testing.assert_allclose(ours, theirs)
    assert our_seen == their_seen


def _symbolic_vjp_case(lib):
    cd, seen = lib.custom_derivatives, []

    @lib.custom_vjp
    def g(x, y):
        return x * y, y

    def g_fwd(x, y):
        assert isinstance(x, cd.CustomVJPPrimal)
        seen.append((x.perturbed, y.perturbed))
        xv, yv = cd.custom_vjp_primal_tree_values((x, y))
        return (xv * yv, yv), (xv, yv)

    def g_bwd(res, cts):
        x, y = res
        seen.append(tuple(isinstance(c, cd.SymbolicZero) for c in cts))
        ct0 = cts[0]
        if isinstance(ct0, cd.SymbolicZero):
            return cd.SymbolicZero.from_primal_value(x) if False else 0.0 * x, cts[1]
        return ct0 * y, ct0 * x
    g.defvjp(g_fwd, g_bwd, symbolic_zeros=True)
    vals = [lib.grad(lambda a: g(a, 3.0)[0])(2.0), lib.grad(lambda b: g(2.0, b)[0])(3.0),
            lib.grad(lambda a, b: g(a, b)[0], argnums=(0, 1))(2.0, 3.0)]
    return [np.asarray(v) for v in lib.tree_util.tree_leaves(vals)], seen


def test_custom_vjp_fwd_sees_perturbed_primals_and_bwd_symbolic_zeros():
    (ours, our_seen), (theirs, their_seen) = _symbolic_vjp_case(pyjax), _symbolic_vjp_case(jax)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t)
    assert our_seen == their_seen


def _optimize_remat_case(lib):
    @lib.custom_vjp
    def f(x, y):
        return lib.numpy.sin(x) * y

    f.defvjp(lambda x, y: (f(x, y), (lib.numpy.cos(x), lib.numpy.sin(x), y)),
             lambda res, g: (res[0] * g * res[2], lib.numpy.sum(res[1] * g)),
             optimize_remat=True)
    loss = lambda x, y: lib.numpy.sum(f(x, y) ** 2)  # noqa: E731
    x, y = np.linspace(-1, 1, 5, dtype=np.float32), np.float32(1.5)
    return [lib.grad(loss, (0, 1))(x, y), lib.grad(lib.checkpoint(loss), (0, 1))(x, y),
            lib.jit(lib.value_and_grad(lib.checkpoint(loss)))(x, y)]


def test_custom_vjp_optimize_remat_same_values_as_jax():
    """``defvjp(..., optimize_remat=True)`` (JAX's memory optimization under remat) gives
    JAX's gradients, with and without ``checkpoint``; with symbolic zeros, JAX's error."""
    ours, theirs = _optimize_remat_case(pyjax), _optimize_remat_case(jax)
    for o, t in zip(pyjax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-6)
    for lib in (pyjax, jax):
        g = lib.custom_vjp(lambda x: x)
        with pytest.raises(NotImplementedError, match="does not support symbolic zeros"):
            g.defvjp(lambda x: (x, None), lambda r, t: (t,), symbolic_zeros=True,
                     optimize_remat=True)


def test_zero_from_primal_and_symbolic_zero_match_jax():
    tree = {"a": np.float32(1), "b": np.arange(3)}
    for sym in (False, True):
        ours = pyjax.custom_derivatives.zero_from_primal(tree, symbolic_zeros=sym)
        theirs = jax.custom_derivatives.zero_from_primal(tree, symbolic_zeros=sym)
        for o, t in zip(pyjax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
            assert (np.dtype(o.dtype), tuple(o.shape)) == (np.dtype(t.dtype), tuple(t.shape))
    z = pyjax.custom_derivatives.SymbolicZero.from_primal_value(jnp.ones((2, 3)))
    assert not z and z.shape == (2, 3) and np.asarray(z.zero()).sum() == 0


def _linear_call_case(lib, np_):
    cd = lib.custom_derivatives

    def f(r, x):
        return x / r

    def t(r, ct):
        return ct / r * 10.0  # (deliberately not f's transpose: reverse mode must use it)

    def div_add(x, denom):
        return x + cd.linear_call(f, t, denom, x)
    return [div_add(3.0, 2.0), lib.grad(div_add)(3.0, 2.0),
            lib.jit(lib.grad(div_add))(3.0, 2.0),
            lib.jvp(lambda x: div_add(x, 2.0), (3.0,), (1.0,))[1],
            lib.linear_transpose(lambda x: cd.linear_call(f, t, 2.0, x), 1.0)(1.0)[0],
            lib.grad(lambda x: lib.grad(div_add)(x, 2.0) * x)(3.0)]


def test_linear_call_uses_its_transpose_as_jax_does():
    for o, t in zip(_linear_call_case(pyjax, jnp), _linear_call_case(jax, jjnp)):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-6)
    # vmap (which JAX lacks for linear_call): batched callee and transpose, per-example
    cd = pyjax.custom_derivatives
    xs, ds = np.arange(3.0, dtype=np.float32), np.arange(1.0, 4.0, dtype=np.float32)
    got = pyjax.vmap(pyjax.grad(lambda x, d: cd.linear_call(
        lambda r, v: v / r, lambda r, c: c / r * 10.0, d, x)))(xs, ds)
    np.testing.assert_allclose(got, 10.0 / ds, rtol=1e-6)
    got = pyjax.grad(lambda x: pyjax.vmap(lambda a, d: cd.linear_call(
        lambda r, v: v / r, lambda r, c: c / r * 10.0, d, a))(x, ds).sum())(xs)
    np.testing.assert_allclose(got, 10.0 / ds, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="residual_args"):
        pyjax.grad(lambda d: cd.linear_call(lambda r, v: v / r, lambda r, c: c / r, d, 1.0))(2.0)


def test_custom_vmap_grads_check():
    f = pyjax.custom_batching.sequential_vmap(lambda x: jnp.sin(x) * x)
    check_grads(pyjax.vmap(f), (np.linspace(-1, 1, 4),), order=2, modes=["fwd", "rev"],
                atol=1e-2, rtol=1e-2)


def test_dlpack_matches_jax():
    import ml_dtypes
    for dt in (np.float32, np.int8, np.uint64, np.bool_, np.complex128, ml_dtypes.bfloat16,
               ml_dtypes.int4, ml_dtypes.float8_e4m3fn, "float16"):
        assert pyjax.dlpack.is_supported_dtype(dt) == jax.dlpack.is_supported_dtype(dt)
    for lib in (pyjax, jax):
        with pytest.raises(TypeError):
            lib.dlpack.is_supported_dtype("foo")
    x = np.arange(6.0).reshape(2, 3)
    ours, theirs = pyjax.dlpack.from_dlpack(x), jax.dlpack.from_dlpack(x)
    assert (ours.dtype, ours.shape, ours.weak_type) == (theirs.dtype, theirs.shape,
                                                        theirs.weak_type)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.from_dlpack(pyjax.dlpack.from_dlpack(x)), x)


def _residual_kinds(lib, transform):
    """What custom_vjp's bwd receives for a fwd's bool, int, None and array residuals, and
    the gradient, under ``transform`` (JAX passes Python scalars through untraced)."""
    seen = []

    @lib.custom_vjp
    def f(x):
        return x * 2

    def fwd(x):
        return x * 2, (True, 3, None, x)

    def bwd(res, g):
        seen.append(tuple("bool" if type(r) is bool else "int" if isinstance(r, int)
                          else "none" if r is None else "array" for r in res))
        flag, n, _, x = res
        return ((g * n if flag else g) + 0 * x,)
    f.defvjp(fwd, bwd)
    grad = transform(lib, lib.grad(lambda x: lib.lax.scan(
        lambda c, _: (f(c), None), x, None, length=2)[0]))
    return seen, float(grad(1.5))


@pytest.mark.parametrize("transform", [lambda lib, g: g, lambda lib, g: lib.jit(g)],
                         ids=["eager", "jit"])
def test_custom_vjp_scalar_residuals_reach_bwd_untraced_as_in_jax(transform):
    assert _residual_kinds(pyjax, transform) == _residual_kinds(jax, transform)
def jnp_of(jx):
    return jnp if jx is pyjax else jjnp


def _with_defaults(jx):
    """custom_jvp/custom_vjp functions called without their defaulted arguments."""
    import functools

    @functools.partial(jx.custom_jvp, nondiff_argnums=(1, 2))
    def scale(x, k=2.0, unused=None):
        return x * k

    @scale.defjvp
    def scale_jvp(k, unused, primals, tangents):
        return scale(primals[0], k, unused), tangents[0] * k * 10.0

    @jx.custom_vjp
    def mul(x, y=3.0):
        return x * y

    mul.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1], g * res[0] * 100.0))
    return [scale(jnp_of(jx).float32(1.5)), jx.grad(scale)(1.5), jx.grad(lambda x: scale(x, 4.0))(1.5),
            jx.grad(mul)(2.0), jx.grad(mul, argnums=0)(2.0, 5.0)]


def test_custom_rules_see_omitted_defaults_as_jax_passes_them():
    ours, theirs = _with_defaults(pyjax), _with_defaults(jax)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t))
        assert np.asarray(o).dtype == np.asarray(t).dtype


def _bwd_without_cotangent(jx):
    """A custom_vjp whose output's cotangent is zero (the next function's bwd gives its
    input none) still runs its bwd, which here returns a state update as a gradient."""
    @jx.custom_vjp
    def observe(x, history):
        return x
    observe.defvjp(lambda x, h: (x, (jx.numpy.max(x) + h,)), lambda res, g: (g, res[0]))

    @jx.custom_vjp
    def block(x, w):
        return x * w
    block.defvjp(lambda x, w: (x * w, (x, w)),
                 lambda res, g: (None, jx.numpy.sum(g * res[0], axis=0)))

    def loss(params, x):
        return jx.numpy.sum(block(observe(x, params["history"]), params["w"]))
    params = {"history": jx.numpy.zeros(3), "w": jx.numpy.ones(4)}
    x = jx.numpy.arange(12.0).reshape(3, 4)
    return jx.grad(loss)(params, x), jx.jit(jx.grad(loss))(params, x)


def test_custom_vjp_bwd_runs_when_no_cotangent_reaches_it():
    for ours, theirs in zip(_bwd_without_cotangent(pyjax), _bwd_without_cotangent(jax)):
        for key in ("history", "w"):
            np.testing.assert_allclose(np.asarray(ours[key]), np.asarray(theirs[key]))
        assert float(np.asarray(ours["history"])[0]) == 11.0


def _bwd_cotangent_trees(jx, bwd_out):
    """A custom_vjp over ({"a": None, "b": x}, (y, z)) whose bwd returns ``bwd_out(x, y, g)``."""
    @jx.custom_vjp
    def f(d, p):
        return jx.numpy.sin(d["b"]) * p[0] + p[1]

    def fwd(d, p):
        return f(d, p), (d["b"], p[0])

    def bwd(res, g):
        return bwd_out(*res, g)
    f.defvjp(fwd, bwd)
    x, y, z = jx.numpy.float32(0.5), jx.numpy.arange(3.0), jx.numpy.float32(2.0)
    return jx.grad(lambda d, p: f(d, p).sum(), argnums=(0, 1))({"a": None, "b": x}, (y, z))


@pytest.mark.parametrize("bwd_out", [
    lambda x, y, g: ({"a": None, "b": (g * y).sum()}, (g * x, g.sum())),  # None: an empty node
    lambda x, y, g: (None, (g * x, g.sum())),         # None for a whole argument
    lambda x, y, g: ({"a": None, "b": None}, (g * 2, None)),
    lambda x, y, g: ([{"a": None, "b": g.sum()}, (g, g.sum())]),  # a list of the right length
], ids=["nested-none", "arg-none", "leaf-none", "list"])
def test_custom_vjp_bwd_cotangents_match_the_arguments_as_a_prefix(bwd_out):
    ours, theirs = _bwd_cotangent_trees(pyjax, bwd_out), _bwd_cotangent_trees(jax, bwd_out)
    assert pyjax.tree.structure(ours) == pyjax.tree.structure(theirs)
    for o, t in zip(pyjax.tree.leaves(ours), jax.tree.leaves(theirs)):
        assert (o.dtype, o.shape) == (t.dtype, t.shape)
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-6)


def test_custom_vjp_bwd_structure_error_matches_jax():
    bad = lambda x, y, g: ({"b": g.sum()}, (g, g.sum()))  # noqa: E731  (no "a" key)
    with pytest.raises(TypeError) as theirs:
        _bwd_cotangent_trees(jax, bad)
    with pytest.raises(TypeError) as ours:
        _bwd_cotangent_trees(pyjax, bad)
    assert str(ours.value) == str(theirs.value)


def _none_for_subtrees(jx):
    """A custom_vjp bwd whose None stands for a whole subtree of zero cotangents, inside an
    argument (not only for an argument), under grad, jit and jacrev's vmap."""
    np_ = jx.numpy

    @jx.custom_vjp
    def f(params, x):
        (w, b), scale = params
        return (w @ x + b.sum()) * scale

    def fwd(params, x):
        return f(params, x), (params, x)

    def bwd(res, g):
        ((w, b), scale), x = res
        return ((None, np_.sum(g * (w @ x + b.sum()))), None)  # (w, b): None

    f.defvjp(fwd, bwd)
    params = ((np_.arange(6.0).reshape(2, 3), np_.ones(4)), np_.float32(2.0))
    x = np_.linspace(0.0, 1.0, 3)
    return [jx.grad(lambda p: f(p, x).sum())(params),
            jx.jit(jx.grad(lambda p: f(p, x).sum()))(params),
            jx.jacrev(lambda p: f(p, x))(params)]


def test_custom_vjp_bwd_none_stands_for_a_subtree_as_in_jax():
    ours, theirs = _none_for_subtrees(pyjax), _none_for_subtrees(jax)
    for o, t in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        np.testing.assert_array_equal(np.asarray(o), np.asarray(t))
        assert (np.shape(o), np.asarray(o).dtype) == (np.shape(t), np.asarray(t).dtype)


@pytest.mark.parametrize("lib", [pyjax, jax], ids=["pyjax", "jax"])
def test_custom_vjp_bwd_structure_mismatch_is_a_type_error(lib):
    f = lib.custom_vjp(lambda a: a[0] * a[1])
    f.defvjp(lambda a: (f(a), a), lambda a, g: ((g, g, g),))
    with pytest.raises(TypeError, match="same container"):
        lib.grad(f)((1.0, 2.0))


def _rule_returning_symbolic_zero(jx):
    """A custom_jvp rule (symbolic_zeros=True) returning a SymbolicZero tangent: the output
    has no tangent downstream (a rule that raises when differentiated is not reached)."""
    np_ = jx.numpy

    @jx.custom_jvp
    def f(x, y):
        return x * 2, y * 3

    def f_jvp(p, t):
        (x, y), (tx, _) = p, t
        zero = jx.custom_derivatives.SymbolicZero(jx.typeof(y).to_tangent_aval())
        return f(x, y), (tx * 2, zero)
    f.defjvp(f_jvp, symbolic_zeros=True)

    @jx.custom_jvp
    def guard(y):
        return y

    @guard.defjvp
    def guard_jvp(p, t):
        raise RuntimeError("differentiated")

    def g(x, y):
        a, b = f(x, y)
        return a + guard(b)
    x = np_.arange(3.0)
    return [jx.jvp(g, (1.0, 2.0), (1.0, 1.0)), jx.grad(g)(1.0, 2.0),
            jx.jit(jx.grad(g))(1.0, 2.0), jx.linearize(g, 1.0, 2.0)[0],
            jx.vmap(lambda v: jx.jvp(lambda v: f(v, v)[1], (v,), (v,)))(x),
            jx.jvp(lambda v: jx.vmap(lambda v: f(v, v))(v), (x,), (np_.ones(3),))]


def test_custom_jvp_rule_symbolic_zero_output_stays_symbolic_as_in_jax():
    assert_same(_rule_returning_symbolic_zero(pyjax), _rule_returning_symbolic_zero(jax))
