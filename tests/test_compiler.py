"""The compiler behind ``jit``: every pass keeps results, generated code matches the kernels
bit for bit (fused and blocked, or not), buffers are reused safely, no user string reaches
the generated source, and the inspection API (``as_text``, ``cost_analysis``, logging).

The oracle is the one ``eval_jaxpr`` defines: each equation's kernel in order, each result
stored as eager evaluation stores it (cast to its declared dtype). It is written out here
(``reference``) so that it does not route through the compiler when the suite runs with
``PYJAX_JIT_EVERYTHING=1``.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax._src.backends import platform
from pyjax._src.backends.cpu import ccompiler
from pyjax._src.backends.cpu.policy import POLICY
from pyjax import lax
from pyjax._src.backends.cpu import blas as blas_module
from pyjax._src.compiler import (compile_jaxpr, kernels, native_loop, runtime,
                                 passes, run_compiled)
from pyjax._src.config import CHECKS
from pyjax._src.core.array import to_buffer
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, eval_jaxpr
from pyjax._src.core.primitive import Primitive, REGISTRY

from op_db import ALL, OPS, STANDARD
from harness import edge_values
from test_compose import BINARY, N, UNARY, build, generate

CPU = platform("cpu")


# ---------------------------------------------------------------------------- helpers

def reference(closed: ClosedJaxpr, args) -> list:
    env = {id(v): to_buffer(c) for v, c in zip(closed.jaxpr.constvars, closed.consts)}
    env.update((id(v), to_buffer(a)) for v, a in zip(closed.jaxpr.invars, args))

    def read(v):
        return to_buffer(v.val) if type(v) is Literal else env[id(v)]
    with np.errstate(all="ignore"):
        for eqn in closed.jaxpr.eqns:
            outs = eqn.prim.impl(*map(read, eqn.invars), **eqn.params)
            for o, b in zip(eqn.outvars, outs):
                b = np.asarray(b)
                env[id(o)] = b if b.dtype == o.aval.dtype else b.astype(o.aval.dtype)
    return [read(v) for v in closed.jaxpr.outvars]


def bits(x) -> tuple:
    x = np.asarray(x)
    return x.dtype.str, x.shape, np.ascontiguousarray(x).tobytes()


def assert_same_bits(got, want, what=""):
    assert len(got) == len(want), what
    for i, (g, w) in enumerate(zip(got, want)):
        assert bits(g) == bits(w), f"{what} output {i}: {np.asarray(g)!r} != {np.asarray(w)!r}"


def expected(closed: ClosedJaxpr, args) -> list:
    """What compiled code must produce: the reference after the call bodies are inlined
    and XLA's rounding rewrites are made (both as XLA compiles JAX's programs)."""
    inlined = passes.inline_calls(closed)
    return reference(ClosedJaxpr(passes.xla_rewrites(inlined.jaxpr), inlined.consts), args)


def check_compiled(closed: ClosedJaxpr, args, what=""):
    exe = compile_jaxpr(closed)
    want = expected(closed, args)
    assert_same_bits(exe(*args), want, what)
    assert_same_bits(exe.run_buffers([to_buffer(a) for a in args]), want, what)
    return exe


@pytest.fixture
def blocked(monkeypatch):
    """Every fused group runs blocked, in blocks of a few elements, on two threads."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 1)
    monkeypatch.setattr(POLICY, "block_bytes", 16)
    monkeypatch.setattr(POLICY, "threaded_min_size", 1)
    monkeypatch.setattr(POLICY, "num_threads", 2)


@pytest.fixture
def blocked_medium(monkeypatch):
    """Groups of a few thousand elements run blocked (in blocks of 1024) and threaded."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 12)
    monkeypatch.setattr(POLICY, "block_bytes", 1 << 12)
    monkeypatch.setattr(POLICY, "threaded_min_size", 1 << 13)
    monkeypatch.setattr(POLICY, "num_threads", 2)


@pytest.fixture(params=["c", "numba"])
def native_whole(request, monkeypatch):
    """Every fused group with a native form (C, or Numba) runs whole, switching to it at
    once; a native form that differs from the NumPy code raises (checked mode)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    elif ccompiler.compiler() is None:
        pytest.skip("no C compiler")
    monkeypatch.setattr(POLICY, "native_backend", request.param)
    monkeypatch.setattr(POLICY, "native_background", False)
    monkeypatch.setattr(POLICY, "native_group_min_size", 1)
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(native_loop, "CHECKS", True)


def n_eqns(closed, name=None) -> int:
    return sum(1 for e in closed.jaxpr.eqns if name is None or e.prim.name == name)


# ---------------------------------------------------------------------------- the corpus

CORPUS_SEEDS = 16  # generated programs, each plain, under grad, jvp and vmap: 64 jaxprs


def _compose_jaxprs():
    """Generated programs of test_compose, plain and differentiated, as closed jaxprs
    (every one traces: a program that fails to trace fails the suite, never shrinks it)."""
    x = np.linspace(-1.5, 2.0, N).astype(np.float32)
    y = np.linspace(0.7, -0.9, N).astype(np.float32)
    out = []
    for seed in range(CORPUS_SEEDS):
        f = build(generate(seed), pyjax, jnp)
        w = np.linspace(0.5, 1.5, N).astype(np.float32)
        for kind, fn in (("plain", f),
                         ("grad", pyjax.grad(lambda a, b: (f(a, b) * w).sum(), (0, 1))),
                         ("jvp", lambda a, b: pyjax.jvp(f, (a, b), (w, w))),
                         ("vmap", lambda a, b: pyjax.vmap(f, (0, None))(
                             jnp.stack([a, -a, 2 * a]), b))):
            out.append((f"{seed}-{kind}", pyjax.make_jaxpr(fn)(x, y), [x, y]))
    return out


COMPOSE = _compose_jaxprs()
BIT_PRESERVING = {
    "inline_calls": passes.inline_calls,
    "fold_constants": lambda c: passes.fold_constants(c, max_size=4),
    "simplify": lambda c: ClosedJaxpr(passes.simplify(c.jaxpr), c.consts),
    "cse": lambda c: ClosedJaxpr(passes.cse(c.jaxpr), c.consts),
    "dce": passes.dce,
    "fuse": lambda c: ClosedJaxpr(passes.fuse(c.jaxpr, POLICY), c.consts),
}


@pytest.mark.parametrize("name", sorted(BIT_PRESERVING))
def test_every_pass_preserves_results_on_generated_programs(name):
    rewrite = BIT_PRESERVING[name]
    for what, closed, args in COMPOSE:
        closed = passes.inline_calls(closed) if name != "inline_calls" else closed
        assert_same_bits(reference(rewrite(closed), args), reference(closed, args), what)


def test_generated_programs_compile_to_the_reference():
    for what, closed, args in COMPOSE:
        check_compiled(closed, args, what)


def test_generated_programs_run_blocked(blocked):
    for what, closed, args in COMPOSE[::3]:
        check_compiled(closed, args, what)


def test_generated_programs_run_native(native_whole):
    """The first call switches each group over (checking its bits), the second runs it."""
    switched = 0
    for what, closed, args in COMPOSE:
        exe = check_compiled(closed, args, what)
        switched += sum(s.call.native is not None for s in exe.steps if s.kind == "group")
    assert switched >= 40


def test_programs_of_one_source_share_code_each_with_its_own_constants():
    """Generated Python is compiled once per source text: two programs that differ only
    in their constants' values (a function jitted again over other data) share the code
    object, and each runs with its own constants."""
    x = np.arange(6, dtype=np.float32)
    exes, consts = [], [np.full(6, 2, np.float32), np.full(6, -3, np.float32)]
    for c in consts:
        closed = pyjax.make_jaxpr(lambda v, c=c: jnp.sin(v) * c + c)(x)
        assert closed.consts  # (the constant is bound in the namespace, not in the source)
        exes.append(compile_jaxpr(closed))
    assert exes[0].source == exes[1].source
    assert exes[0].__code__ is exes[1].__code__
    for exe, c in zip(exes, consts):
        want = np.sin(x) * c + c
        assert_same_bits([np.asarray(o) for o in exe(x)], [want], "constant")


def test_reference_is_eval_jaxpr():
    """The oracle written here agrees with ``eval_jaxpr``."""
    for what, closed, args in COMPOSE[:12]:
        want = eval_jaxpr(closed.jaxpr, closed.consts, *args)
        assert_same_bits(reference(closed, args), want, what)


def _op_cases():
    for op in OPS:
        for dt in op.dtypes:
            if dt not in STANDARD or dt in op.untested:
                continue
            rng = np.random.default_rng(zlib.crc32(f"{op.name}/{dt}".encode()))
            for sample in op.samples(np.dtype(dt), rng):
                yield op, sample


def _op_jaxprs():
    out = []
    for op, sample in _op_cases():
        fn = (lambda op, kw: lambda *a: op.ours(*a, **kw))(op, sample.kwargs)
        closed = pyjax.make_jaxpr(fn)(*sample.args)  # (valid samples: every one traces)
        out.append((f"{op.name}{sample}", closed, pyjax.tree_util.tree_leaves(sample.args)))
    return out


OP_JAXPRS = _op_jaxprs()
OP_JAXPRS_AT_LEAST = 2690  # the op table's valid samples today; it only grows


def test_the_corpora_are_whole():
    """Every generated program and every op-table sample is compiled below: none is
    dropped, so the corpora cannot shrink unnoticed."""
    assert len(COMPOSE) == 4 * CORPUS_SEEDS
    assert len(OP_JAXPRS) >= OP_JAXPRS_AT_LEAST


@pytest.mark.parametrize("part", range(4))
def test_op_table_compiled_matches_kernels(part):
    for what, closed, args in OP_JAXPRS[part::4]:
        check_compiled(closed, args, what)


@pytest.mark.parametrize("part", range(4))
def test_op_table_blocked_matches_kernels(part, blocked):
    for what, closed, args in OP_JAXPRS[part::4]:
        check_compiled(closed, args, what)


def test_direct_ufuncs_match_their_kernels():
    """Each ufunc a primitive declares (``Primitive.ufunc``), which the compiler calls
    instead of its kernel, gives the kernel's bits on every dtype of its kinds."""
    checked = 0
    for prim in REGISTRY.values():
        if prim.ufunc is None:
            continue
        n = prim.ufunc.nin
        for dt in map(np.dtype, ALL):
            x = [Var(ShapedArrayOf(dt)) for _ in range(n)]
            eqn = Eqn(prim, x, [Var(ShapedArrayOf(dt))], {})
            if kernels.direct_ufunc(eqn) is prim.ufunc:
                checked += 1
                args = np.meshgrid(*([edge_values(dt)] * n), indexing="ij")
                with np.errstate(all="ignore"):
                    want = np.asarray(prim.impl(*args)[0])
                    got = prim.ufunc(*args)
                assert bits(got) == bits(want), (prim.name, dt)
    assert checked > 150


def ShapedArrayOf(dt):  # noqa: N802
    from pyjax._src.core.aval import ShapedArray
    return ShapedArray((), dt)


# ---------------------------------------------------------------------------- fused kernels

def _chain(a, b, c):
    u = jnp.tanh(a * 1.5 + 0.5) * jnp.exp(-a * a) + jnp.sin(a) ** 2
    v = jnp.where(u > b, u - b, lax.integer_pow(b, 3)) / 3.0
    return u, v * c, jnp.maximum(v, 0.0).astype(jnp.int32)


LAYOUTS = {
    "c": lambda x: x,
    "fortran": np.asfortranarray,
    "reversed": lambda x: x[::-1],
    "strided": lambda x: np.repeat(x, 2, axis=1)[:, ::2],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_fused_groups_give_the_unfused_bits(layout, blocked_medium):
    """Large groups run blocked and threaded (fast path) or unfused (layouts NumPy would
    compute differently); both must match the kernels run one by one."""
    rng = np.random.default_rng(0)
    a = LAYOUTS[layout](rng.standard_normal((100, 300)).astype(np.float32) * 3)
    b = rng.standard_normal((1, 300)).astype(np.float32)
    c = np.float32(0.25)
    closed = pyjax.make_jaxpr(_chain)(a, b, c)
    exe = check_compiled(closed, [a, b, c], layout)
    assert any(s.kind == "group" and s.call.blocked for s in exe.steps)


def test_fused_integer_and_broadcast_groups(blocked):
    rng = np.random.default_rng(1)
    i = rng.integers(-40, 40, (5, 7)).astype(np.int32)
    j = rng.integers(-3, 40, (1, 7)).astype(np.int32)

    def f(i, j, s):
        k = lax.div(i, j) + lax.rem(i, j + 1) - lax.shift_right_arithmetic(i, j)
        m = lax.broadcast_in_dim(s, (5, 7), ()) * k
        n = lax.broadcast_in_dim(j[0], (5, 7), (1,)) + m
        return k, n, lax.convert_element_type(n, np.float32) / 7.0
    closed = pyjax.make_jaxpr(f)(i, j, np.int32(3))
    exe = check_compiled(closed, [i, j, np.int32(3)])
    assert n_eqns(exe.jaxpr, "fused") == 2  # j + 1 (of shape (1, 7)), and the rest


# ---------------------------------------------------------------------------- passes

def test_inlining_removes_nested_calls():
    inner = pyjax.jit(lambda x: (x * 2.0, x + 1.0))
    cp = pyjax.checkpoint(lambda x: jnp.sin(x) * x)

    @pyjax.custom_jvp
    def cj(x):
        return jnp.cos(x)
    cj.defjvp(lambda p, t: (cj(p[0]), -jnp.sin(p[0]) * t[0]))

    def f(x):
        a, b = inner(x)
        c, _ = inner(b)
        return a + c + cp(x) + cj(inner(x)[0])
    x = np.linspace(-1, 1, 5).astype(np.float32)
    closed = pyjax.make_jaxpr(f)(x)
    assert n_eqns(closed, "jit") == 3
    inlined = passes.inline_calls(closed)
    assert not any(e.prim.name in ("jit", "checkpoint", "custom_jvp_call")
                   for e in inlined.jaxpr.eqns)
    assert_same_bits(reference(inlined, [x]), reference(closed, [x]))
    check_compiled(closed, [x])


def test_dce_cse_fold_simplify():
    def f(x, y):
        dead = jnp.exp(x) * 3.0  # noqa: F841
        a, b = jnp.sin(x) * y, jnp.sin(x) * y       # CSE
        k = (jnp.arange(4.0) * 2.0 + 1.0).sum()      # folded to a literal
        z = jnp.zeros((1000, 1000)).sum()            # too big to fold
        t = jnp.transpose(jnp.transpose(x.reshape(2, 3))).reshape(3, 2).reshape(6, 1) \
            .reshape(3, 2)
        s = lax.neg(lax.neg(x)) * 1.0 - 0.0
        return a + b + k + z, t, s.astype(np.float32), lax.stop_gradient(y)
    x = np.arange(6.0, dtype=np.float32)
    y = np.linspace(-2, 2, 6).astype(np.float32)
    closed = pyjax.make_jaxpr(f)(x, y)
    opt = passes.optimize(closed, POLICY, fusion=False)
    names = [e.prim.name for e in opt.jaxpr.eqns]
    assert "exp" not in names and names.count("sin") == 1 and "iota" not in names
    assert "neg" not in names and "stop_gradient" not in names
    assert names.count("transpose") == 0 and names.count("reshape") == 1
    assert names.count("broadcast_in_dim") == 1 and names.count("reduce_sum") == 1
    assert_same_bits(reference(opt, [x, y]), expected(closed, [x, y]))
    check_compiled(closed, [x, y])


def test_a_broadcast_of_one_value_is_not_folded():
    """It stays a view's equation, which a fused group reads as the value (a folded one
    would be an operand of zero strides)."""
    def f(x):
        return jnp.where(x > 0, x, jnp.full(x.shape, -1.0, x.dtype)), jnp.arange(4.0) * 2.0
    x = np.linspace(-1, 1, 8).astype(np.float32)
    closed = pyjax.make_jaxpr(f)(x)
    opt = passes.optimize(closed, POLICY, fusion=False)
    assert [e.prim.name for e in opt.jaxpr.eqns].count("broadcast_in_dim") == 1
    assert [c.shape for c in opt.consts] == [(4,)]  # (the folded arange * 2)
    assert_same_bits(reference(opt, [x]), expected(closed, [x]))


def test_cse_keeps_apart_what_differs():
    def f(x):
        return x + 0.0 * 1, x + -0.0, x * 2, x * 2.0, lax.reduce_sum(x, (0,)), \
            lax.reduce_max(x, (0,))
    x = np.array([-0.0, 1.5, np.nan], np.float32)
    closed = pyjax.make_jaxpr(f)(x)
    assert_same_bits(reference(ClosedJaxpr(passes.cse(closed.jaxpr), closed.consts), [x]),
                     reference(closed, [x]))
    key = passes.params_key
    j1, j2 = closed.jaxpr, pyjax.make_jaxpr(f)(x).jaxpr
    assert key({"jaxpr": j1}) != key({"jaxpr": j2}) and key({"jaxpr": j1}) == key({"jaxpr": j1})
    assert key({"v": 0.0}) != key({"v": -0.0}) and key({"v": 1}) != key({"v": True})


def test_cse_compares_params_of_candidates():
    def f(x):
        return (lax.reduce_sum(x, (0,)), lax.reduce_sum(x, (1,)), lax.reduce_sum(x, (0,)),
                lax.reduce_max(x, (1,)), lax.reduce_max(x, (0,)))
    x = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    closed = pyjax.make_jaxpr(f)(x)
    out = passes.cse(closed.jaxpr)
    names = [e.prim.name for e in out.eqns]
    assert names.count("reduce_sum") == 2 and names.count("reduce_max") == 2
    assert out.outvars[0] is out.outvars[2] and out.outvars[1] is not out.outvars[0]
    assert_same_bits(reference(ClosedJaxpr(out, closed.consts), [x]), reference(closed, [x]))


def test_xla_rewrites_match_jax_jit():
    """x + 0 keeps -0.0 and x / c multiplies by 1/c, as JAX's compiled code does."""
    x = np.array([-0.0, 3.0, 7.0], np.float32)
    out = pyjax.jit(lambda x: (x + 0.0, x / 3.0, 0.0 + x))(x)
    assert np.signbit(out[0][0]) and np.signbit(out[2][0])
    assert bits(out[1]) == bits(x * (np.float32(1) / np.float32(3)))


@pytest.mark.parametrize("large", [False, True])
def test_each_group_makes_its_own_large_broadcast(large, monkeypatch):
    """Two ReLUs' zeros (one broadcast after CSE): from NATIVE_MIN_SIZE elements each
    group makes its own (a view), instead of one group handing it to the other."""
    monkeypatch.setattr(POLICY, "native_group_min_size", 1 << 16 if large else 1 << 17)

    def f(x, w):
        y = jnp.where(x > 0, x, 0.0) @ w
        return jnp.where(y > 0, y, 0.0), jnp.maximum(y, 0.0)
    r = np.random.default_rng(5)
    args = [r.standard_normal((256, 256)).astype(np.float32) for _ in range(2)]
    closed = pyjax.make_jaxpr(f)(*args)
    fused = passes.optimize(closed, POLICY)  # (too large a broadcast to fold into a constant)
    groups = [e.params["jaxpr"] for e in fused.jaxpr.eqns if e.prim.name == "fused"]
    made = [sum(e.prim.name == "broadcast_in_dim" for e in g.eqns) for g in groups]
    outputs_a_broadcast = any(e.prim.name == "broadcast_in_dim" and e.outvars[0] in g.outvars
                              for g in groups for e in g.eqns)
    assert (made, outputs_a_broadcast) == (([1, 1, 0], False) if large else ([1, 0, 0], True))
    check_compiled(closed, args)


def test_fusion_never_reorders_a_read_before_its_write():
    """A group value read by a non-elementwise equation closes the group: later
    elementwise work (even of the same shape) starts a new one."""
    def f(x):
        a = jnp.exp(x) * 2.0
        s = a.sum(axis=1, keepdims=True)        # reads the group
        b = a / s + jnp.sin(x)                  # same shape, after the read
        return b, a
    x = np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32)
    closed = pyjax.make_jaxpr(f)(x)
    fused = passes.optimize(closed, POLICY)
    assert n_eqns(fused, "fused") == 2
    check_compiled(closed, [x])
    assert_same_bits(reference(ClosedJaxpr(passes.unfuse(fused.jaxpr), fused.consts), [x]),
                     reference(fused, [x]))


# ---------------------------------------------------------------------------- aliasing

def test_aliasing_inputs_outputs_and_literals():
    f = pyjax.jit(lambda x, y: (x, x + y, x, 2.0, y * 1.0))
    a = np.arange(3.0, dtype=np.float32)
    outs = f(a, a)
    assert a.flags.writeable  # a NumPy input returned as is was copied, not frozen
    a[0] = 100.0
    assert float(outs[0][0]) == 0.0 and float(outs[2][0]) == 0.0
    assert float(outs[3]) == 2.0 and outs[3].weak_type and not outs[0].weak_type
    for o in outs:
        with pytest.raises(TypeError):
            o[0] = 1.0
    again = f(jnp.asarray(a), jnp.asarray(a))
    assert float(again[3]) == 2.0 and float(again[1][0]) == 200.0


def test_blocked_kernels_reuse_dead_buffers_safely(blocked_medium):
    def f(x, y):
        a = jnp.sin(x) * y            # group 1 (dies at group 2)
        s = a.T.sum()                 # a consumer that may keep a view: a is not reused
        b = jnp.exp(a) + 1.0
        c = b.sum(axis=0)             # group 2 read by a reduction
        d = jnp.cos(b) * 2.0          # group 3: may write into a dead group output
        e = d.sum(axis=0) + c
        g = jnp.tanh(d) - y           # group 4
        return g, e, s
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100, 70)).astype(np.float32)
    y = rng.standard_normal((100, 70)).astype(np.float32)
    exe = check_compiled(pyjax.make_jaxpr(f)(x, y), [x, y])
    assert n_eqns(exe.jaxpr, "fused") == 5
    written_over = [s for s in exe.steps if s.kind == "group" and any(s.into)]
    assert len(written_over) >= 2, exe.steps  # written into dead buffers
    xx = np.ascontiguousarray(x)
    check_compiled(pyjax.make_jaxpr(f)(xx, xx), [xx, xx])  # the same buffer twice


# ---------------------------------------------------------------------------- safety

MARK = "PWNED_MARKER"


class Evil:
    def __repr__(self):
        return f"'); import os; os.system('echo {MARK}') #\n{MARK}"

    __str__ = __repr__

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return isinstance(other, Evil)


def test_no_user_string_reaches_the_generated_source():
    def body(x, tag):
        return jnp.sin(x) * 2.0 + len(repr(tag))
    body.__name__ = f"f'); print('{MARK}') #\n"
    f = pyjax.jit(body, static_argnums=1)
    x = jnp.ones(3)
    out = f(x, Evil())
    src = f.lower(x, Evil()).compile().as_text()
    assert MARK not in src and "print" not in src
    np.testing.assert_allclose(out, np.sin(1.0) * 2.0 + len(repr(Evil())), rtol=1e-6)

    # A primitive with odd param keys and string values: passed by reference only.
    odd = Primitive(f"odd\n{MARK}")
    del REGISTRY[odd.name]
    odd.abstract_eval = lambda avals, **p: [avals[0]]
    odd.impl = lambda x, **p: [x + len(p[f"k-{MARK}"])]
    xv = Var(ShapedArrayOf(np.dtype(np.float32)))
    ov = Var(ShapedArrayOf(np.dtype(np.float32)))
    jaxpr = Jaxpr([], [xv], [ov], [Eqn(odd, [xv], [ov], {f"k-{MARK}": f"'{MARK}'\n",
                                                         "tag": Evil()})])
    exe = compile_jaxpr(ClosedJaxpr(jaxpr, []))
    assert MARK not in exe.source
    assert float(exe(np.float32(1))[0]) == 1 + len(f"'{MARK}'\n")


# ---------------------------------------------------------------------------- nesting

def test_nested_jit_and_control_flow_inside_compiled_code():
    inner = pyjax.jit(lambda x: jnp.tanh(x) * 0.5)

    @pyjax.custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1, 1),))

    def f(x, n):
        y = lax.fori_loop(0, n, lambda i, c: inner(c) + 0.1 * i, x)
        z = lax.cond(y.sum() > 0, lambda v: v * 2.0, lambda v: -v, y)
        carry, ys = lax.scan(lambda c, t: (c + t, c * t), z[0], z)
        w = lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 1.1), (0, lax.stop_gradient(carry)))
        return clip_grad(ys) * w[1], pyjax.checkpoint(jnp.sin)(z)
    x = np.linspace(-1, 1, 6).astype(np.float32)
    got = pyjax.jit(f)(x, 3)
    with pyjax.disable_jit():
        want = f(x, 3)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-6, atol=1e-7)
    g1 = pyjax.jit(pyjax.grad(lambda x: f(x, 2)[0].sum()))(x)
    g2 = pyjax.grad(lambda x: f(x, 2)[0].sum())(x)
    np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), rtol=2e-6, atol=1e-7)


# ---------------------------------------------------------------------------- inspection

def test_lower_compile_text_and_cost_analysis():
    f = pyjax.jit(lambda a, b: jnp.tanh(a @ b) * 2.0 + 1.0)
    a = np.ones((8, 16), np.float32)
    b = np.ones((16, 4), np.float32)
    lowered = f.lower(a, b)
    assert "dot_general" in lowered.as_text() and "fused" in lowered.as_text()
    compiled = lowered.compile()
    src = compiled.as_text()
    assert "def call(" in src and "def run_buffers(" in src and "dot_general" in src
    cost = compiled.cost_analysis()
    assert {"flops", "bytes accessed", "transcendentals"} <= set(cost)
    assert cost["flops"] >= 2 * 8 * 16 * 4 and cost["transcendentals"] == 8 * 4
    assert cost["bytes accessed"] == 4 * (8 * 16 + 16 * 4 + 8 * 4) + 4 * (8 * 4 + 8 * 4)


def test_run_buffers_is_compiled_when_first_used():
    """A top-level jit only calls ``exe``; ``run_buffers`` (calls, loops) compiles on its
    first call and then replaces itself on the executable."""
    closed = pyjax.make_jaxpr(lambda x: (jnp.sin(x) * 2.0, x))(np.ones(3, np.float32))
    exe = compile_jaxpr(closed)
    lazy = exe.run_buffers
    assert lazy.__code__.co_filename != "<pyjax generated code>"
    buf = np.linspace(0, 1, 3).astype(np.float32)
    want = expected(closed, [buf])
    assert_same_bits(lazy([buf]), want)
    assert exe.run_buffers is not lazy
    assert exe.run_buffers.__code__.co_filename == "<pyjax generated code>"
    assert_same_bits(exe.run_buffers([buf]), want)
    assert_same_bits(lazy([buf]), want)  # a reference taken before still works
    assert "def run_buffers(" in exe.source and "def call(" in exe.source


def test_only_kernels_declared_exact_skip_the_result_cast():
    """A kernel whose primitive does not declare ``exact_dtypes`` gets its result cast to
    the declared dtype; one that declares it falsely is caught in checked mode (and,
    unchecked, its result is passed on uncast)."""
    odd = Primitive("odd")
    del REGISTRY["odd"]
    odd.abstract_eval = lambda avals, **p: [avals[0]]
    odd.impl = lambda x, **p: [x.astype(np.float64) * 2]
    xv, ov = Var(ShapedArrayOf(np.dtype(np.float32))), Var(ShapedArrayOf(np.dtype(np.float32)))
    program = ClosedJaxpr(Jaxpr([], [xv], [ov], [Eqn(odd, [xv], [ov], {})]), [])
    out = compile_jaxpr(program)(np.float32(1.5))[0]
    assert out.dtype == np.float32 and float(out) == 3.0
    odd.exact_dtypes = True
    if CHECKS:
        with pytest.raises(AssertionError, match="declared exact_dtypes"):
            compile_jaxpr(program)(np.float32(1.5))
    else:
        (buf,) = compile_jaxpr(program).run_buffers([np.asarray(1.5, np.float32)])
        assert buf.dtype == np.float64


def test_log_compiles_reports_compile_time(caplog):
    pyjax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING", logger="pyjax"):
            pyjax.jit(lambda x: jnp.cos(x) - 3)(1.0)
    finally:
        pyjax.config.update("jax_log_compiles", False)
    msgs = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Finished compilation of jit(<lambda>)" in m and " ms" in m for m in msgs)


# ---------------------------------------------------------------------------- eager hook

def test_eager_binds_through_the_compiler():
    x = np.linspace(-2, 2, 7).astype(np.float32)
    for prim, args, params in [(REGISTRY["sin"], [x], {}),
                               (REGISTRY["reduce_sum"], [x], {"axes": (0,)}),
                               (REGISTRY["div"], [x, np.float32(3)], {}),
                               (REGISTRY["convert_element_type"], [x],
                                {"new_dtype": np.dtype(np.int32), "weak_type": False})]:
        avals = [pyjax._src.core.trace.get_aval(a) for a in args]
        out_avals = prim.abstract_eval(avals, **params)
        got = run_compiled(prim, args, avals, out_avals, params)
        assert_same_bits(got, prim.impl(*args, **params), prim.name)


def test_jit_everything_flag():
    code = ("import numpy as np, pyjax.numpy as jnp\n"
            "from pyjax._src.core import trace\n"
            "assert trace.EAGER_COMPILER is not None\n"
            "x = jnp.arange(5.0)\n"
            "print(float((jnp.sin(x) / 3.0 + x).sum()))\n")
    # (PYTHONPATH passed on: the child imports the pyjax under test, not an installed one)
    env = {"PYJAX_JIT_EVERYTHING": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    x = np.arange(5.0, dtype=np.float32)
    assert float(out.stdout) == pytest.approx(float((np.sin(x) / np.float32(3) + x).sum()))


def test_unfused_path_matches_when_fusion_is_off(monkeypatch):
    """The same programs with fusion disabled (every kernel called in turn)."""
    monkeypatch.setattr(passes, "fuse", lambda jaxpr, policy: jaxpr)
    for what, closed, args in COMPOSE[::5]:
        check_compiled(closed, args, what)


@pytest.mark.parametrize("name", sorted(UNARY)[:3] + sorted(BINARY)[:2])
def test_generated_ops_under_jit_match_eager(name):
    op = UNARY.get(name) or BINARY[name]
    x = np.linspace(-1, 1, N).astype(np.float32)
    args = (x,) if name in UNARY else (x, x[::-1].copy())
    fn = lambda *a: op(pyjax, jnp, *a)  # noqa: E731
    got, want = pyjax.jit(fn)(*args), fn(*map(jnp.asarray, args))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- buffer pool

@pytest.fixture
def pooled(monkeypatch):
    """Every intermediate, however small, comes from and goes back to the buffer pool."""
    monkeypatch.setattr(POLICY, "pool_min_bytes", 1)


def _check_pooled_programs():
    """Programs give the reference bits, and results of earlier calls stay intact while
    later calls (of any program) reuse pooled buffers."""
    kept = []
    for what, closed, args in COMPOSE[::2] + OP_JAXPRS[::7]:
        exe = check_compiled(closed, args, what)
        first = [np.array(o) for o in exe(*args)]
        kept.append((what, exe(*args), first))
        exe(*args)
    for what, outs, first in kept:
        assert_same_bits(outs, first, what)


def test_pooled_buffers_never_reach_results(pooled):
    _check_pooled_programs()


def test_pooled_buffers_in_blocked_kernels(pooled, blocked):
    _check_pooled_programs()


def test_pooled_buffers_in_kernel_by_kernel_evaluation(pooled):
    """The evaluator of first runs and of fused groups not yet native pools its buffers
    as generated code does: the reference bits, and earlier results stay intact."""
    kept = []
    for what, closed, args in COMPOSE[::2] + OP_JAXPRS[::7]:
        inlined = passes.inline_calls(closed)
        program = ClosedJaxpr(passes.xla_rewrites(inlined.jaxpr), inlined.consts)
        run = runtime.Evaluation(program.jaxpr, CPU, pooled=True)
        consts = list(map(to_buffer, program.consts))
        outs = run([to_buffer(a) for a in args], consts)
        assert_same_bits(outs, expected(closed, args), what)
        kept.append((what, outs, [np.array(o) for o in outs]))
        run([to_buffer(a) for a in args], consts)
    for what, outs, first in kept:
        assert_same_bits(outs, first, what)


def test_overlapped_products_give_the_reference_bits(monkeypatch):
    """With every product large enough to run beside other work (on the worker thread,
    joined before its first use), programs still give the reference bits."""
    monkeypatch.setattr(POLICY, "spawn_min_macs", 0)
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(blas_module, "num_threads", lambda: 1)
    spawned = 0
    for what, closed, args in COMPOSE[1::3] + OP_JAXPRS[::5]:
        exe = check_compiled(closed, args, what)
        spawned += any(s.spawned for s in exe.steps)
    assert spawned
