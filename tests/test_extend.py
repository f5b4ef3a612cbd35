"""JAX's extension API on pyjax: primitives a library defines with ``jax.extend.core``,
their rules registered through ``jax.interpreters.{ad,batching,mlir}``, run eagerly and
under jit, grad, vjp, jvp and vmap. Each library-style primitive is defined twice by the
same code, once on real JAX and once on pyjax, and every result compared."""
from __future__ import annotations

import types

import numpy as np
import pytest

import jax
import jax.extend.core
import jax.interpreters.ad
import jax.interpreters.batching
import jax.interpreters.mlir
import jax.numpy as jnp_ref

import pyjax
import pyjax.extend.core
import pyjax.interpreters.ad
import pyjax.interpreters.batching
import pyjax.interpreters.mlir
import pyjax.numpy as jnp
from pyjax._src.core.primitive import REGISTRY
from harness import assert_same


def _api(jx, np_mod, extend_core, ad, batching, mlir):
    return types.SimpleNamespace(jax=jx, jnp=np_mod, Primitive=extend_core.Primitive, ad=ad,
                                 batching=batching, mlir=mlir)


OURS = _api(pyjax, jnp, pyjax.extend.core, pyjax.interpreters.ad,
            pyjax.interpreters.batching, pyjax.interpreters.mlir)
THEIRS = _api(jax, jnp_ref, jax.extend.core, jax.interpreters.ad,
              jax.interpreters.batching, jax.interpreters.mlir)


def define(api):
    """The library: four primitives, with JAX's conventions only (run once per framework)."""
    jnp_, ad, batching, mlir = api.jnp, api.ad, api.batching, api.mlir
    lib = types.SimpleNamespace()

    # scaled_sin(x, k) = k sin(x): a JVP rule, a batching rule and a lower_fun lowering.
    p = lib.scaled_sin_p = api.Primitive("scaled_sin")

    def scaled_sin_impl(x, *, k):
        return jnp_.sin(x) * k
    p.def_impl(scaled_sin_impl)
    p.def_abstract_eval(lambda x, *, k: x)

    def scaled_sin_jvp(primals, tangents, *, k):
        (x,), (t,) = primals, tangents
        return p.bind(x, k=k), jnp_.cos(x) * k * t
    ad.primitive_jvps[p] = scaled_sin_jvp
    batching.primitive_batchers[p] = lambda args, dims, *, k: (p.bind(*args, k=k), dims[0])
    mlir.register_lowering(p, mlir.lower_fun(scaled_sin_impl, multiple_results=False))

    # scale(x, c) = c * x, linear in x: reverse mode runs its transpose rule.
    s = lib.scale_p = api.Primitive("scale")

    def scale_impl(x, *, c):
        return x * c
    s.def_impl(scale_impl)
    s.def_abstract_eval(lambda x, *, c: x)
    ad.deflinear2(s, lambda ct, x, *, c: [s.bind(ct, c=c)])
    batching.primitive_batchers[s] = lambda args, dims, *, c: (s.bind(*args, c=c), dims[0])
    mlir.register_lowering(s, mlir.lower_fun(scale_impl, multiple_results=False))

    # split(x, y) = (2x + y, x - 3y): multiple results, linear, hand-written JVP and
    # transpose, a batching rule moving the batch dims to the front.
    m = lib.split_p = api.Primitive("split")
    m.multiple_results = True

    def split_impl(x, y):
        return [2 * x + y, x - 3 * y]
    m.def_impl(split_impl)
    m.def_abstract_eval(lambda x, y: [x, x])

    def split_jvp(primals, tangents):
        tx, ty = (ad.instantiate_zeros(t) for t in tangents)
        return m.bind(*primals), m.bind(tx, ty)

    def split_transpose(cts, x, y):
        aval = x.aval if ad.is_undefined_primal(x) else y.aval
        ca, cb = (jnp_.zeros(aval.shape, aval.dtype) if type(c) is ad.Zero else c
                  for c in cts)
        return [2 * ca + cb if ad.is_undefined_primal(x) else None,
                ca - 3 * cb if ad.is_undefined_primal(y) else None]

    def split_batch(args, dims):
        x, y = (jnp_.moveaxis(a, d, 0) if d is not None else a for a, d in zip(args, dims))
        size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
        x, y = (jnp_.broadcast_to(a, (size,) + a.shape) if d is None else a
                for a, d in zip((x, y), dims))
        return m.bind(x, y), [0, 0]
    ad.primitive_jvps[m] = split_jvp
    ad.primitive_transposes[m] = split_transpose
    batching.primitive_batchers[m] = split_batch
    mlir.register_lowering(m, mlir.lower_fun(split_impl, multiple_results=True))

    # unbatched_max(x): the axis-aware batching table (equinox's ``unvmap``-style rule
    # that drops the batch: the maximum over every member), no derivative.
    u = lib.unbatched_max_p = api.Primitive("unbatched_max")
    u.def_impl(lambda x: jnp_.max(x))
    u.def_abstract_eval(lambda x: x.update(shape=()))

    def unbatched_max_batch(axis_size, axis_name, trace_type, args, dims):
        return u.bind(*args), None
    batching.axis_primitive_batchers[u] = unbatched_max_batch
    mlir.register_lowering(u, mlir.lower_fun(lambda x: jnp_.max(x), multiple_results=False))
    return lib


LIB_OURS, LIB_THEIRS = define(OURS), define(THEIRS)

X = np.array([0.3, -1.2, 2.0, 0.7], np.float32)
Y = np.array([1.5, 0.25, -0.5, 3.0], np.float32)
XS = np.arange(12, dtype=np.float32).reshape(3, 4) / 7


def programs(api, lib):
    """name -> a thunk running one program on the given framework."""
    jx, jnp_ = api.jax, api.jnp

    def f(x):
        return lib.scaled_sin_p.bind(x, k=1.5)

    def g(x, y):
        a, b = lib.split_p.bind(x, y)
        return jnp_.sum(lib.scale_p.bind(a, c=3.0) * jnp_.sin(b))

    return {
        "eager": lambda: f(X),
        "jit": lambda: jx.jit(f)(X),
        "grad": lambda: jx.grad(lambda x: jnp_.sum(f(x)))(X),
        "jit_grad": lambda: jx.jit(jx.grad(lambda x: jnp_.sum(f(x) ** 2)))(X),
        "hessian_diag": lambda: jx.grad(lambda x: jnp_.sum(jx.grad(
            lambda y: jnp_.sum(f(y)))(x)))(X),
        "jvp": lambda: jx.jvp(f, (X,), (Y,)),
        "vmap": lambda: jx.vmap(f)(XS),
        "vmap_grad": lambda: jx.vmap(jx.grad(lambda x: jnp_.sum(f(x))))(XS),
        "scale_grad": lambda: jx.grad(lambda x: jnp_.sum(lib.scale_p.bind(x, c=-2.0) ** 2))(X),
        "scale_vjp": lambda: jx.vjp(lambda x: lib.scale_p.bind(x, c=4.0), X)[1](Y),
        "scale_jit_vmap": lambda: jx.jit(jx.vmap(lambda x: lib.scale_p.bind(x, c=0.5)))(XS),
        "split_eager": lambda: lib.split_p.bind(X, Y),
        "split_jit": lambda: jx.jit(lambda x, y: lib.split_p.bind(x, y))(X, Y),
        "split_grad": lambda: jx.grad(g, argnums=(0, 1))(X, Y),
        "split_jit_grad": lambda: jx.jit(jx.grad(g, argnums=(0, 1)))(X, Y),
        "split_one_output_grad": lambda: jx.grad(
            lambda x: jnp_.sum(lib.split_p.bind(x, Y)[1]))(X),
        "split_jvp": lambda: jx.jvp(lambda x, y: lib.split_p.bind(x, y), (X, Y), (Y, X)),
        "split_vmap": lambda: jx.vmap(lambda x, y: lib.split_p.bind(x, y),
                                      in_axes=(0, None))(XS, Y),
        "split_vmap_grad": lambda: jx.vmap(jx.grad(g), in_axes=(0, None))(XS, Y),
        "unbatched_max_vmap": lambda: jx.vmap(lambda x: lib.unbatched_max_p.bind(x) + x)(XS),
        "unbatched_max_jit_vmap": lambda: jx.jit(jx.vmap(
            lambda x: lib.unbatched_max_p.bind(x) * x))(XS),
    }


@pytest.mark.parametrize("name", sorted(programs(OURS, LIB_OURS)))
def test_library_primitive_matches_jax(name):
    ours = programs(OURS, LIB_OURS)[name]()
    theirs = programs(THEIRS, LIB_THEIRS)[name]()
    assert_same(ours, theirs, rtol=2e-6, atol=2e-6, what=name)


def test_staged_equation_and_its_compiled_expansion():
    """jit records one equation of the library primitive; compiled code inlines its
    lower_fun function (no kernel call of the eager impl remains)."""
    text = str(pyjax.make_jaxpr(lambda x: LIB_OURS.scaled_sin_p.bind(x, k=2.0))(X))
    assert "scaled_sin[k=2.0]" in text
    compiled = pyjax.jit(lambda x: LIB_OURS.scaled_sin_p.bind(x, k=2.0)).lower(X).compile()
    assert "scaled_sin" not in compiled.as_text() and "sin" in compiled.as_text()


def test_tables_are_views_of_the_primitives_rules():
    ad, batching = OURS.ad, OURS.batching
    p = LIB_OURS.scaled_sin_p
    assert p in ad.primitive_jvps and p not in ad.primitive_transposes
    assert p in batching.primitive_batchers and p in list(ad.primitive_jvps)
    assert LIB_OURS.unbatched_max_p in batching.axis_primitive_batchers
    # pyjax's own primitives' rules read back in JAX's convention, as JAX's do
    jvp_ours = ad.primitive_jvps[pyjax.lax.mul_p]((X, Y), (Y, X))
    jvp_theirs = THEIRS.ad.primitive_jvps[jax.lax.mul_p]((X, Y), (Y, X))
    assert_same(jvp_ours, jvp_theirs, what="mul's jvp rule")
    out, dim = batching.primitive_batchers[pyjax.lax.neg_p]([XS], [1])  # (JAX's: write-only)
    np.testing.assert_array_equal(out, -XS)
    assert dim == 1
    # deleting a rule empties the slot
    q = OURS.Primitive("scratch")
    q.def_impl(lambda x: x)
    q.def_abstract_eval(lambda x: x)
    batching.primitive_batchers[q] = lambda args, dims: (args[0], dims[0])
    del batching.primitive_batchers[q]
    with pytest.raises(NotImplementedError, match="Batching rule for 'scratch'"):
        pyjax.vmap(q.bind)(XS)


def test_library_primitives_stay_out_of_pyjaxs_registry():
    """A library primitive may reuse a name; pyjax's REGISTRY keeps its own primitives."""
    before = REGISTRY["sin"]
    p = OURS.Primitive("sin")
    assert REGISTRY["sin"] is before and p is not before
    assert "scaled_sin" not in REGISTRY


def test_transpose_rule_returning_the_zero_class():
    """JAX lets a transpose rule return ``ad.Zero`` itself (every cotangent zero)."""
    for api in (OURS, THEIRS):
        p = api.Primitive("stop_backward")
        p.def_impl(lambda x: x)
        p.def_abstract_eval(lambda x: x)
        api.ad.deflinear2(p, lambda ct, x: api.ad.Zero)
        api.mlir.register_lowering(p, api.mlir.lower_fun(lambda x: x, multiple_results=False))
    ours = pyjax.grad(lambda x: jnp.sum(OURS.Primitive and x * 2 + 0 * x))(X)
    assert_same(ours, jax.grad(lambda x: jnp_ref.sum(x * 2 + 0 * x))(X))
    q = OURS.Primitive("stop_backward2")
    q.def_impl(lambda x: x)
    q.def_abstract_eval(lambda x: x)
    OURS.ad.deflinear2(q, lambda ct, x: OURS.ad.Zero)
    g = pyjax.grad(lambda x: jnp.sum(q.bind(x) + x))(X)
    np.testing.assert_array_equal(g, np.ones_like(X))


def test_errors_name_what_is_missing():
    p = OURS.Primitive("bare")
    with pytest.raises(NotImplementedError, match="Evaluation rule for 'bare'"):
        p.bind(X)
    p.def_impl(lambda x: x + 1)
    with pytest.raises(NotImplementedError, match="Abstract evaluation for 'bare'"):
        pyjax.jit(p.bind)(X)
    p.def_abstract_eval(lambda x: x)
    with pytest.raises(NotImplementedError, match="Differentiation rule for 'bare'"):
        pyjax.grad(lambda x: jnp.sum(p.bind(x)))(X)
    # without a lowering, compiled code inlines the impl; ``impl`` is the library's own
    np.testing.assert_array_equal(pyjax.jit(p.bind)(X), X + 1)
    assert_same(p.impl(X), jnp.asarray(X) + 1)
    p.def_abstract_eval(lambda x: 3)
    with pytest.raises(TypeError, match="abstract evaluation rule of primitive 'bare'"):
        pyjax.make_jaxpr(p.bind)(X)


def _host_lowered(api, calls):
    """A primitive whose hand-written lowering emits a Python callback (its impl differs,
    so the results tell which ran), and one whose callback has a side effect."""
    p = api.Primitive("host_cumsum")
    p.multiple_results = True
    p.def_impl(lambda x, y: [x + 100.0, y])
    p.def_abstract_eval(lambda x, y: [x, y])

    def rule(ctx, x, y):
        def host(a, b):
            calls.append(np.asarray(a).shape)
            return np.cumsum(np.asarray(a)), np.asarray(b) * 2
        results, _, keep = api.mlir.emit_python_callback(
            ctx, host, None, [x, y], ctx.avals_in, ctx.avals_out, has_side_effect=False)
        ctx.module_context.add_keepalive(keep)
        return results
    api.mlir.register_lowering(p, rule)

    q = api.Primitive("host_note")
    q.def_impl(lambda x: x)
    q.def_abstract_eval(lambda x: x)

    def note_rule(ctx, x):
        def host(a):
            calls.append("note")
            return (np.asarray(a),)
        return api.mlir.emit_python_callback(ctx, host, None, [x], ctx.avals_in,
                                             ctx.avals_out, has_side_effect=True)[0]
    api.mlir.register_lowering(q, note_rule)
    return p, q


@pytest.mark.parametrize("api", [OURS, THEIRS], ids=["pyjax", "jax"])
def test_hand_written_lowering_emitting_a_python_callback_runs_it_compiled(api):
    calls = []
    p, q = _host_lowered(api, calls)
    x, y = np.arange(4.0, dtype=np.float32), np.int32(3)
    eager = p.bind(x, y)  # (the impl)
    compiled = api.jax.jit(lambda a, b: p.bind(a, b))(x, y)
    first_only = api.jax.jit(lambda a, b: p.bind(a, b)[0])(x, y)
    noted = api.jax.jit(lambda a: q.bind(a) * 0 + q.bind(a * 2)[:1].sum())(x)
    dropped = api.jax.jit(lambda a: (q.bind(a), a)[1])(x)  # (dead: dropped before lowering)
    assert_same(eager, [x + 100.0, y])
    assert_same(compiled, [np.cumsum(x), y * 2])
    assert_same(first_only, np.cumsum(x))
    assert_same([noted, dropped], [np.zeros(4, np.float32) + 0.0, x])
    assert calls[:2] == [(4,), (4,)] and calls.count("note") == 2


def test_mlir_hand_written_operations_are_not_implemented():
    p = OURS.Primitive("hand_lowered")
    p.def_impl(lambda x: x + 1)
    p.def_abstract_eval(lambda x: x)
    OURS.mlir.register_lowering(p, lambda ctx, x: [x])  # (passes its operand on)
    np.testing.assert_array_equal(p.bind(X), X + 1)  # eager: the impl, as in JAX
    np.testing.assert_array_equal(pyjax.jit(p.bind)(X), X)
    OURS.mlir.register_lowering(p, lambda ctx, x: [OURS.mlir.hlo.add(x, x)])
    with pytest.raises(NotImplementedError, match=r"hand-written MLIR lowering rule.*mlir\.hlo"):
        pyjax.jit(p.bind)(X + 0)
    OURS.mlir.register_lowering(p, lambda ctx, x: [ctx.tokens_in])
    with pytest.raises(NotImplementedError, match="hand-written MLIR lowering rule.*tokens_in"):
        pyjax.jit(p.bind)(X + 1)
    OURS.mlir.register_lowering(p, lambda ctx, x: [x], platform="cuda")  # (never runs here)
    with pytest.raises(NotImplementedError, match=r"mlir\.ir: pyjax compiles"):
        OURS.mlir.ir.Context()
    with pytest.raises(NotImplementedError, match="pyjax's own primitive 'sin'"):
        OURS.mlir.register_lowering(pyjax.lax.sin_p, OURS.mlir.lower_fun(jnp.sin))
    with pytest.raises(AttributeError):
        OURS.mlir.no_such_name  # noqa: B018


def test_extend_core_helpers_match_jax():
    ec_o, ec_t = pyjax.extend.core, jax.extend.core
    a_o, a_t = pyjax.core.ShapedArray((3, 4), np.float32), jax.core.ShapedArray((3, 4), np.float32)
    for args in [(3, 0), (4, 1), (3, None)]:
        assert str(ec_o.mapped_aval(*args, a_o)) == str(ec_t.mapped_aval(*args, a_t))
    for args in [(5, 0), (5, 2), (5, None)]:
        assert str(ec_o.unmapped_aval(*args, a_o)) == str(ec_t.unmapped_aval(*args, a_t))
    closed = pyjax.make_jaxpr(lambda x: jnp.sin(x) * 2)(X)
    assert_same(ec_o.jaxpr_as_fun(closed)(X), ec_t.jaxpr_as_fun(
        jax.make_jaxpr(lambda x: jnp_ref.sin(x) * 2)(X))(X))
    assert isinstance(closed, ec_o.ClosedJaxpr) and isinstance(closed.jaxpr, ec_o.Jaxpr)
    eqn = closed.jaxpr.eqns[0]
    assert isinstance(eqn, ec_o.JaxprEqn) and eqn.primitive is pyjax.lax.sin_p
    assert isinstance(eqn.invars[0], ec_o.Var) and isinstance(eqn.outvars[0], ec_o.Var)
    assert ec_o.primitives.sin_p is pyjax.lax.sin_p and ec_o.primitives.jit_p.name == "jit"
    states = []
    pyjax.vmap(lambda x: states.append(ec_o.get_opaque_trace_state()) or x)(XS)
    assert states[0] != ec_o.get_opaque_trace_state() == ec_o.get_opaque_trace_state()
    with ec_o.take_current_trace() as t:
        assert t is ec_o.find_top_trace(())


def test_what_libraries_compare_about_traces_and_rules():
    """A JVP trace's ``main`` identifies its tracers' trace (Equinox's ``filter_jvp``);
    ``CustomVJPPrimal`` is a pytree leaf, as in JAX (rules ``tree_map`` over them)."""
    seen = []

    def f(x):
        top = pyjax.extend.core.find_top_trace([x])
        seen.append(isinstance(x, OURS.ad.JVPTracer) and x._trace.main is top.main)
        return x * 2
    pyjax.jvp(f, (X,), (Y,))
    assert seen == [True]
    for cd, tu in ((pyjax.custom_derivatives, pyjax.tree_util),
                   (jax.custom_derivatives, jax.tree_util)):
        leaf = cd.CustomVJPPrimal(X, True)
        assert tu.tree_leaves([leaf]) == [leaf]


def test_transformations_accept_callables_with_odd_attributes():
    """A callable object whose ``__name__`` is not a string (an Equinox module's field)
    is transformed as in JAX, which copies only what it can."""
    class Model:
        __name__ = 42

        def __call__(self, x):
            return x * 2

    for lib in (pyjax, jax):
        for transform in (lib.vmap, lib.grad, lib.jacfwd, lib.value_and_grad):  # (not jit: JAX refuses)
            out = transform(Model())(np.float32(1.5) if transform is not lib.vmap else X)
            assert_same(out, transform(lambda x: x * 2)(
                np.float32(1.5) if transform is not lib.vmap else X))


def test_every_primitive_is_an_extend_primitive():
    """As in JAX (one primitive class), pyjax's own primitives are instances of
    jax.extend.core.Primitive (Equinox type-checks functions on primitives with it); a
    library's subclass keeps the ordinary isinstance."""
    import pyjax.extend.core as pcore

    class Mine(pcore.Primitive):
        pass

    assert isinstance(pyjax.lax.sin_p, pcore.Primitive) == isinstance(jax.lax.sin_p,
                                                                    jax.extend.core.Primitive)
    assert isinstance(Mine("mine"), pcore.Primitive)
    assert not isinstance(pyjax.lax.sin_p, Mine) and not isinstance(object(), pcore.Primitive)


def _rule_argument_types(api):
    """What containers a library's JVP and batching rules get: tuples in JAX (a rule may
    reuse its batch axes as a vmap's axis spec for a tuple, as Equinox's vprim does)."""
    seen = []
    p = api.Primitive("seen_types")
    p.def_impl(lambda x, y: x * y)
    p.def_abstract_eval(lambda x, y: x)

    def jvp(primals, tangents):
        seen.append(("jvp", type(primals).__name__, type(tangents).__name__))
        (x, y), (tx, ty) = primals, tangents
        return p.bind(x, y), tx * y + x * ty

    def batch(args, dims):
        seen.append(("batch", type(args).__name__, type(dims).__name__))
        out = api.jax.vmap(lambda a, b: a * b, in_axes=dims)(*args)
        return out, 0
    api.ad.primitive_jvps[p] = jvp
    api.batching.primitive_batchers[p] = batch
    x = api.jnp.arange(3.0)
    out = [api.jax.jvp(lambda a: p.bind(a, a), (x,), (x,)), api.jax.vmap(p.bind)(x, x)]
    return out, seen


def test_library_rules_get_tuples_as_in_jax():
    ours, theirs = _rule_argument_types(OURS), _rule_argument_types(THEIRS)
    assert ours[1] == theirs[1] and ("batch", "tuple", "tuple") in ours[1]
    assert_same(ours[0], theirs[0])
