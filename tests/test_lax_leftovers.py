"""The last of ``jax.lax``'s names against JAX: ``rng_uniform``, ``dce_sink``, the
structural primitives as their public functions bind them, and the type aliases.
(tile/stack/unstack/split/copy/stage and eq_to/le_to/lt_to also have op_db entries.)"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import jax
import jax.numpy as JN
from jax import lax as J

import pyjax
import pyjax.numpy as PN
from pyjax import lax as L

import harness

X = np.arange(6.0, dtype=np.float32).reshape(2, 3)


def _raises_like(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(expected.type):
        ours()


def test_rng_uniform():
    for a, b, shape in [(np.float32(2), np.float32(3), (50,)), (0, 10, (4, 5)),
                        (np.int32(-3), np.int32(4), (100,)), (0.0, 1.0, ())]:
        ours, theirs = L.rng_uniform(a, b, shape), J.rng_uniform(a, b, shape)
        assert (ours.dtype, ours.shape, ours.weak_type) == \
            (theirs.dtype, theirs.shape, theirs.weak_type)
        v = np.asarray(ours)
        assert ((v >= a) & (v < b)).all()
    draws = pyjax.jit(lambda lo: L.rng_uniform(lo, 1e6, (8,)))(0.0)
    assert draws.shape == (8,) and len(set(np.asarray(draws).tolist())) == 8
    for make in [lambda lax: lax.rng_uniform(np.float32(0), np.int32(1), (2,)),
                 lambda lax: lax.rng_uniform(np.zeros(2, np.float32), np.float32(1), (2,))]:
        _raises_like(lambda: make(L), lambda: make(J))
    # (no derivative and no batching rule, as in JAX: NotImplementedError for both)
    for api_ours, api_theirs, arg in [(pyjax.grad, jax.grad, 1.0),
                                      (pyjax.vmap, jax.vmap, np.ones(2, np.float32))]:
        _raises_like(lambda: api_ours(lambda a: L.rng_uniform(a, 2.0, ()))(arg),
                     lambda: api_theirs(lambda a: J.rng_uniform(a, 2.0, ()))(arg))


def test_dce_sink():
    """``dce_sink`` returns None, binds ``dce_sink`` (no results), and keeps under ``jit``
    the work computing its operand, which nothing else uses."""
    assert L.dce_sink({"a": X, "b": 2.0}) is None and J.dce_sink(X) is None
    jaxpr = pyjax.make_jaxpr(lambda x: L.dce_sink(x * 2.0))(X)
    names = [e.prim.name for e in jaxpr.jaxpr.eqns]
    assert names == ["mul", "dce_sink"] and L.dce_sink_p.name == J.dce_sink_p.name
    lowered = pyjax.jit(lambda x: (L.dce_sink(x * 2.0), x + 1.0)[1]).lower(X).as_text()
    assert "dce_sink" in lowered and "mul" in lowered
    g = pyjax.grad(lambda x: (L.dce_sink(x), (x ** 2).sum())[1])(X)
    harness.assert_same(g, jax.grad(lambda x: (J.dce_sink(x), (x ** 2).sum())[1])(X))
    assert pyjax.vmap(lambda x: (L.dce_sink(x), x)[1])(X).shape == X.shape


def test_public_functions_bind_jaxs_primitives():
    cases = [("split", lambda lax, x: lax.split(x, (1, 2), 1)),
             ("stack", lambda lax, x: lax.stack([x, x], 1)),
             ("unstack", lambda lax, x: lax.unstack(x, 1)),
             ("tile", lambda lax, x: lax.tile(x, (2, 1))),
             ("rng_bit_generator", lambda lax, x: lax.rng_bit_generator(
                 np.array([1, 2, 3, 4], np.uint32), (2,), algorithm=lax.RandomAlgorithm(1)))]
    for name, fn in cases:
        ours = pyjax.make_jaxpr(lambda x: fn(L, x))(X).jaxpr.eqns
        theirs = jax.make_jaxpr(lambda x: fn(J, x))(X).jaxpr.eqns
        assert [e.prim.name for e in ours] == [e.primitive.name for e in theirs], name
        assert getattr(L, f"{name}_p").name == getattr(J, f"{name}_p").name
        harness.assert_same(fn(L, X), fn(J, X), what=name)
    # stage is the identity that keeps a Python scalar's weak type (and stages no work)
    harness.assert_same(L.stage(1), J.stage(1))
    harness.assert_same(pyjax.jit(lambda x: L.stage(2.0) * x)(X), J.stage(2.0) * X)
    assert "stage" not in pyjax.jit(lambda x: L.stage(x) + 1).lower(X).as_text()


def test_conv_dimension_numbers_alias():
    assert L.ConvGeneralDilatedDimensionNumbers is not None
    dn = L.conv_dimension_numbers((1, 2, 5, 5), (3, 2, 3, 3), ("NCHW", "OIHW", "NCHW"))
    assert isinstance(dn, L.ConvDimensionNumbers)


def _out_sharding_params(module):
    out = {}
    for name in dir(module):
        try:
            params = inspect.signature(getattr(module, name)).parameters
        except (TypeError, ValueError):
            continue
        if "out_sharding" in params:
            p = params["out_sharding"]
            out[name] = (p.kind, p.default)  # (order: test_numpy_namespace's signatures)
    return out


def test_out_sharding_keywords_match_jax():
    """Where JAX's jnp and lax functions take ``out_sharding``, pyjax's take it at the same
    place with the same default: None works, a sharding raises NotImplementedError."""
    for theirs_mod, ours_mod in [(J, L), (JN, PN)]:
        theirs = _out_sharding_params(theirs_mod)
        ours = _out_sharding_params(ours_mod)
        assert {n: ours.get(n) for n in theirs} == theirs
    calls = [lambda m, **k: m.zeros((2,), **k), lambda m, **k: m.arange(3, **k),
             lambda m, **k: m.reshape(X, (3, 2), **k), lambda m, **k: m.dot(X, X.T, **k),
             lambda m, **k: m.einsum("ij,kj->ik", X, X, **k),
             lambda m, **k: m.asarray(X, **k), lambda m, **k: m.percentile(X, 50, **k)]
    lax_calls = [lambda m, **k: m.broadcast_in_dim(X, (4, 2, 3), (1, 2), **k),
                 lambda m, **k: m.dot_general(X, X, (((1,), (1,)), ((), ())), **k),
                 lambda m, **k: m.reduce_sum(X, (0,), **k),
                 lambda m, **k: m.dot(X, X.T, **k),
                 lambda m, **k: m.broadcasted_iota(np.int32, (2, 3), 1, **k)]
    for mods, fns in [((PN, JN), calls), ((L, J), lax_calls)]:
        for fn in fns:
            harness.assert_same(fn(mods[0], out_sharding=None), fn(mods[1], out_sharding=None))
            with pytest.raises(NotImplementedError, match="out_sharding"):
                fn(mods[0], out_sharding="x")
    with pytest.raises(NotImplementedError, match="out_sharding"):
        pyjax.numpy.ones(3).reshape(3, out_sharding="x")


def test_lax_dot_dimension_numbers():
    a, b = np.ones((2, 3, 4), np.float32), np.ones((2, 4, 5), np.float32)
    dn = (((2,), (1,)), ((0,), (0,)))
    harness.assert_same(L.dot(a, b, dimension_numbers=dn), J.dot(a, b, dimension_numbers=dn))
    _raises_like(lambda: L.dot(a, b), lambda: J.dot(a, b))


SAS_CASES = [  # (operand, select, window, strides, padding, source shape, init, scatter)
    (np.array([1.0, 2, 3], np.float32), "ge", (2,), (1,), ((1, 1),), (4,), 0.0, "add"),
    (np.array([-1.0, -2, -3], np.float32), "ge", (2,), (1,), ((1, 1),), (4,), 0.0, "add"),
    (np.array([1.0, 2, 3], np.float32), "le", (2,), (2,), ((1, 0),), (2,), 10.0, "mul"),
    (np.array([[1.0, 5, 2], [4, 4, 0]], np.float32), "gt", (2, 2), (1, 1), ((0, 0), (0, 0)),
     (1, 2), 0.0, "add"),
    (np.random.default_rng(0).integers(0, 4, (5, 6)).astype(np.int32), "ge", (2, 3), (1, 2),
     ((1, 0), (0, 1)), (5, 3), 0, "max"),
    (np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32), "lt", (3, 2),
     (2, 2), ((1, 1), (1, 0)), (2, 3), -1.0, "add"),
]


def _sas(lax, impl):
    def fn(case, x, source):
        _, sel, wd, ws, pad, _, init, sc = case
        return impl(x, getattr(lax, sel), wd, ws, pad, source, np.asarray(init, x.dtype),
                    getattr(lax, sc))
    return fn


def test_select_and_scatter():
    """The general select_and_scatter primitive against JAX's (``_select_and_scatter``,
    JAX's only binder of it): ties, padding (never selected), overlapping windows, other
    computations; under jit and vmap; JAX's error without a derivative."""
    from jax._src.lax import windowed_reductions as jax_windowed  # (the oracle's binder)
    from pyjax._src.lax import windowed
    ours, theirs = _sas(L, windowed.select_and_scatter), _sas(J, jax_windowed._select_and_scatter)
    for case in SAS_CASES:
        x = case[0]
        source = (np.arange(np.prod(case[5])) + 1).reshape(case[5]).astype(x.dtype)
        harness.assert_same(ours(case, x, source), theirs(case, x, source), what=str(case))
        harness.assert_same(pyjax.jit(lambda a, s: ours(case, a, s))(x, source),
                            theirs(case, x, source))
        batched = pyjax.vmap(lambda a, s: ours(case, a, s))(np.stack([x, x[::-1]]),
                                                           np.stack([source, -source]))
        for i, (a, s) in enumerate([(x, source), (x[::-1], -source)]):
            harness.assert_same(batched[i], theirs(case, a, s))
    jaxpr = pyjax.make_jaxpr(lambda a, s: ours(SAS_CASES[0], a, s))(SAS_CASES[0][0],
                                                                    np.ones(4, np.float32))
    assert jaxpr.jaxpr.eqns[-1].prim is L.select_and_scatter_p
    assert L.select_and_scatter_p.name == J.select_and_scatter_p.name
    case, source = SAS_CASES[0], np.ones(4, np.float32)
    _raises_like(lambda: pyjax.grad(lambda a: ours(case, a, source).sum())(case[0]),
                 lambda: jax.grad(lambda a: theirs(case, a, source).sum())(case[0]))
    _raises_like(lambda: ours(case, case[0], np.ones(3, np.float32)),
                 lambda: theirs(case, case[0], np.ones(3, np.float32)))


def test_scaled_dot():
    """bfloat16 products of block-scaled operands, bit for bit with JAX's CPU result."""
    r = np.random.default_rng(0)
    a = r.standard_normal((2, 4, 8)).astype(np.float32)
    b = r.standard_normal((2, 8, 3)).astype(np.float32)
    sa = (np.abs(r.standard_normal((2, 4, 2))) + 0.5).astype(np.float32)
    sb = (np.abs(r.standard_normal((2, 2, 3))) + 0.5).astype(np.float32)
    for kw in [{}, dict(preferred_element_type=np.float32)]:
        for scales in [{}, dict(lhs_scale=sa, rhs_scale=sb)]:
            harness.assert_same(L.scaled_dot(a, b, **scales, **kw),
                                J.scaled_dot(a, b, **scales, **kw), rtol=0, atol=0)
    harness.assert_same(L.scaled_dot(a[0], b[0]), J.scaled_dot(a[0], b[0]), rtol=0, atol=0)
    harness.assert_same(pyjax.vmap(lambda x, y: L.scaled_dot(x, y))(a, b),
                        jax.vmap(lambda x, y: J.scaled_dot(x, y))(a, b), rtol=0, atol=0)
    for bad in [lambda lax: lax.scaled_dot(a[0, 0], b[0, 0]),
                lambda lax: lax.scaled_dot(a, b, lhs_scale=sa[..., :1].repeat(3, -1)),
                lambda lax: lax.scaled_dot(a, b, lhs_scale=sa[:, :2])]:
        _raises_like(lambda: bad(L), lambda: bad(J))


def test_tokens():
    """create_token/after_all: tokens are values of their own abstract type (``Tok``) that
    jit passes and returns and transformations carry along unbatched, untangled."""
    t, jt = L.create_token(), J.create_token()
    assert str(L.after_all(t, t).aval) == "Tok"
    for lib, tok in [(L, t), (J, jt)]:
        assert lib.create_token_p.name == "create_token" and lib.after_all_p.name == "after_all"
    ours = pyjax.make_jaxpr(lambda x: L.after_all(L.create_token(), x))(t)
    theirs = jax.make_jaxpr(lambda x: J.after_all(J.create_token(), x))(jt)
    assert [e.prim.name for e in ours.jaxpr.eqns] == [e.primitive.name for e in theirs.jaxpr.eqns]
    assert ours.jaxpr.invars[0].aval.str_short() == theirs.jaxpr.invars[0].aval.str_short() == "Tok"
    assert pyjax.jit(lambda tok: L.after_all(tok, tok))(t).aval == t.aval
    _raises_like(lambda: L.after_all(1.0), lambda: J.after_all(1.0))
    _raises_like(lambda: L.after_all(t, X), lambda: J.after_all(jt, X))

    def step(lib, x, tok):
        return x * 2.0, lib.after_all(tok)
    harness.assert_same(pyjax.grad(lambda x: step(L, x, t)[0])(3.0),
                        jax.grad(lambda x: step(J, x, jt)[0])(3.0))
    harness.assert_same(pyjax.jit(lambda x, tok: step(L, x, tok)[0])(X, t), 2.0 * X)
    harness.assert_same(pyjax.vmap(lambda x: step(L, x, L.create_token())[0])(X), 2.0 * X)


def test_device_put_binds_device_put():
    """jax.device_put binds device_put under a trace (copying back to the source in
    reverse mode), and eagerly hands back an Array already placed, as JAX's fast path."""
    ours = pyjax.make_jaxpr(lambda x: pyjax.device_put((x, x * 2.0)))(X)
    theirs = jax.make_jaxpr(lambda x: jax.device_put((x, x * 2.0)))(X)
    assert [e.prim.name for e in ours.jaxpr.eqns] == [e.primitive.name for e in theirs.jaxpr.eqns]
    assert L.device_put_p.name == J.device_put_p.name and L.device_put_p.multiple_results
    grad_names = [e.prim.name for e in pyjax.make_jaxpr(
        pyjax.grad(lambda x: pyjax.device_put(x).sum()))(X).jaxpr.eqns]
    assert grad_names.count("device_put") == 2
    loss = lambda lib: lambda x: (lib.device_put((x, x * 2.0))[1] ** 2).sum()  # noqa: E731
    harness.assert_same(pyjax.grad(loss(pyjax))(X), jax.grad(loss(jax))(X))
    harness.assert_same(pyjax.vmap(lambda x: pyjax.device_put(x) * 2.0)(X),
                        jax.vmap(lambda x: jax.device_put(x) * 2.0)(X))
    a, b = pyjax.numpy.ones(3), JN.ones(3)
    assert (pyjax.device_put(a) is a) == (jax.device_put(b) is b)
    assert (pyjax.device_put(a, may_alias=False) is a) == (jax.device_put(b, may_alias=False) is b)
    harness.assert_same(pyjax.device_put({"a": 1, "b": [np.int8(3)]}),
                        jax.device_put({"a": 1, "b": [np.int8(3)]}))
