"""The compiler's faster paths for dense programs give the bits of the kernels they stand
for: the bitwise ``select_n``, ``add_any`` and ``integer_pow(x, 2)`` called as ufuncs,
``dot_general`` writing into a pooled buffer, and the buffer pool itself (it never hands
out memory something still refers to). Also ``jax.nn.relu``'s custom JVP, against JAX.
"""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import jax
import pyjax
import pyjax.numpy as jnp
from pyjax._src.backends.cpu.policy import POLICY
from pyjax import lax
from pyjax._src.backends.cpu import blas as blas_module, kernels as cpu_kernels, pool as pool_module, threads
from pyjax._src.compiler import compile_jaxpr, kernels, passes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import Eqn, Var
from pyjax._src.lax import dot as lax_dot, elementwise as ew

from harness import assert_same, check_against_jax, edge_values, x64_mode
from test_compiler import bits, expected, reference


def _prims(exe) -> list:
    """The primitives the compiled program's steps call (fused groups' members too)."""
    return [e.prim.name for s in exe.steps
            for e in (s.eqn.params["jaxpr"].eqns if s.kind == "group" else [s.eqn])]


def check_compiled(fn, *args):
    closed = pyjax.make_jaxpr(fn)(*args)
    exe = compile_jaxpr(closed)
    want = [bits(w) for w in expected(closed, args)]
    for _ in range(2):  # the second call runs on pooled buffers
        assert [bits(g) for g in exe(*args)] == want
    return exe


# ---------------------------------------------------------------------------- select_n

SELECT_DTYPES = [np.float32, np.float64, np.float16, np.int32, np.int8, np.uint16, np.int64,
                 np.bool_, np.complex64]


@pytest.mark.parametrize("size", [5, POLICY.select_bits_min_size + 3])
@pytest.mark.parametrize("dtype", SELECT_DTYPES)
def test_select2_is_np_where(dtype, size):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((size, 2)) * 5).astype(dtype)
    b = (rng.standard_normal((size, 2)) * 5).astype(dtype)
    which = rng.standard_normal((size, 2)) > 0
    zero = np.zeros((), dtype)
    minus_zero = -zero if zero.dtype.kind in "fc" else zero
    cases = [(which, a, b), (which, a, b[:1]), (which, zero, b),
             (which, np.broadcast_to(zero, b.shape), b), (which, minus_zero, b),
             (which, np.zeros((1, 2), dtype), b[:1]), (np.array(True), a, b),
             (which[:, :1], a, b)]
    for w, c0, c1 in cases:
        want = np.where(w, c1, c0)
        assert bits(cpu_kernels.select2(w, c0, c1)) == bits(want)
        out = np.empty(want.shape, want.dtype)
        assert cpu_kernels.select2(w, c0, c1, out=out) is out and bits(out) == bits(want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.uint8])
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_max_min_with_a_scalar_spread_give_the_ufuncs_bits(name, dtype):
    """A one-element operand spread to the other's shape: the same bits as NumPy's
    scalar loop on edge values (signed zeros, NaN payloads, infinities) either side."""
    ufunc = getattr(np, name)
    spread = {np.maximum: cpu_kernels.maximum_spread, np.minimum: cpu_kernels.minimum_spread}[ufunc]
    vals = edge_values(np.dtype(dtype))
    if np.dtype(dtype).kind == "f":
        vals = np.concatenate([vals, -vals])
    x = np.tile(vals, 5000 // len(vals) + 1)
    for s in vals:
        for scalar in (np.asarray(s), np.full((1,), s)):
            for a, b in ((x, scalar), (scalar, x), (x.reshape(-1, 1)[:4096], scalar)):
                want = ufunc(a, b)
                assert bits(spread(a, b)) == bits(want)
                out = np.empty_like(want)
                assert spread(a, b, out=out) is out and bits(out) == bits(want)
    one = np.ones((1, 1), dtype)  # (a rank above the other's: no spread)
    assert spread(x, one).shape == ufunc(x, one).shape == (1, x.size)


def test_relu_in_compiled_code_spreads_its_zero(monkeypatch):
    x = np.random.default_rng(3).standard_normal((64, 100)).astype(np.float32)
    x[0, :3] = [np.nan, -0.0, 0.0]
    exe = check_compiled(lambda x: (jnp.maximum(x, 0.0), jnp.minimum(-0.0, x)), x, )
    picked = {kernels.direct_ufunc(e) for e in passes.unfuse(exe.jaxpr.jaxpr).eqns}
    assert {cpu_kernels.maximum_spread, cpu_kernels.minimum_spread} <= picked


def test_select2_keeps_nan_payloads_and_signed_zeros():
    vals = edge_values(np.dtype(np.float32))
    payload = np.array([0x7FC00001, 0xFFC12345], np.uint32).view(np.float32)
    a = np.tile(np.concatenate([vals, payload]), 500)
    b = a[::-1].copy()
    w = np.arange(a.size) % 3 == 0
    assert cpu_kernels.select2(w, a, b).view(np.uint32).tobytes() == \
        np.where(w, b, a).view(np.uint32).tobytes()


def _eqn(prim, avals, out_aval, **params):
    return Eqn(prim, [Var(a) for a in avals], [Var(out_aval)], params)


def test_direct_kernels_stand_only_for_their_lax_kernels():
    f32 = ShapedArray((4,), np.dtype(np.float32))
    c128 = ShapedArray((4,), np.dtype(np.complex128))
    b = ShapedArray((4,), np.dtype(np.bool_))
    i32 = ShapedArray((4,), np.dtype(np.int32))
    assert kernels.direct_ufunc(_eqn(ew.select_n_p, [b, f32, f32], f32)) is cpu_kernels.select2
    assert kernels.direct_ufunc(_eqn(ew.select_n_p, [i32, f32, f32], f32)) is None
    assert kernels.direct_ufunc(_eqn(ew.select_n_p, [b, c128, c128], c128)) is None
    assert kernels.direct_ufunc(_eqn(ew.add_any_p, [f32, f32], f32)) is np.add
    assert kernels.direct_ufunc(_eqn(ew.integer_pow_p, [f32], f32, y=2)) is np.square
    assert kernels.direct_ufunc(_eqn(ew.integer_pow_p, [i32], i32, y=2)) is np.square
    assert kernels.direct_ufunc(_eqn(ew.integer_pow_p, [f32], f32, y=3)) is None
    c64 = ShapedArray((4,), np.dtype(np.complex64))
    assert kernels.direct_ufunc(_eqn(ew.integer_pow_p, [c64], c64, y=2)) is None


def test_integer_pow_two_is_square_on_every_float16_and_int8():
    for dt, vals in ((np.float16, np.arange(1 << 16, dtype=np.uint16).view(np.float16)),
                     (np.int8, np.arange(-128, 128).astype(np.int8))):
        with np.errstate(all="ignore"):
            want, got = ew.integer_pow_p.impl(vals, y=2)[0], np.square(vals)
        assert bits(got) == bits(want), dt


def test_compiled_selects_powers_and_cotangent_sums(monkeypatch):
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 12)
    monkeypatch.setattr(POLICY, "block_bytes", 1 << 12)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    x[0, :5] = [0.0, -0.0, np.nan, np.inf, -np.inf]
    y = rng.standard_normal((64, 300)).astype(np.float32)

    def f(x, y):
        h = jnp.where(x > y, x, lax.integer_pow(y, 2)) + jax_relu(x) * y
        return jnp.sum(h * h), h

    jax_relu = pyjax.nn.relu
    check_compiled(f, x, y)
    check_compiled(pyjax.grad(lambda x, y: f(x, y)[0], (0, 1)), x, y)
    check_compiled(lambda x: lax.integer_pow(x.astype(jnp.int32), 2), x * 100)


def test_direct_square_is_as_quiet_as_its_kernel():
    x = np.full((300, 40), 3e38, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pyjax.jit(lambda x: lax.integer_pow(x, 2))(x)
    assert np.isinf(np.asarray(out)).all()


# ---------------------------------------------------------------------------- dot_general

DOTS = [  # lhs shape, rhs shape, dimension numbers
    ((40, 30), (30, 50), (((1,), (0,)), ((), ()))),
    ((30, 40), (30, 50), (((0,), (0,)), ((), ()))),          # transposed lhs
    ((40, 30), (50, 30), (((1,), (1,)), ((), ()))),          # transposed rhs
    ((4, 40, 30), (4, 30, 50), (((2,), (1,)), ((0,), (0,)))),  # batched
    ((4, 30, 40), (50, 4, 30), (((1,), (2,)), ((0,), (1,)))),  # batched, permuted
    ((6, 7, 30), (30, 50), (((2,), (0,)), ((), ()))),
    ((64, 30), (64,), (((0,), (0,)), ((), ()))),             # matrix-vector
    ((64,), (64, 8), (((), ()), ((0,), (0,)))),              # batched outer product
]


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float64])
def test_dot_general_into_pooled_buffers(dtype, monkeypatch):
    monkeypatch.setattr(POLICY, "pool_min_bytes", 1)
    rng = np.random.default_rng(2)
    for ls, rs, dn in DOTS:
        a = (rng.standard_normal(ls) * 4).astype(dtype)
        b = (rng.standard_normal(rs) * 4).astype(dtype)
        exe = check_compiled(lambda a, b: lax.dot_general(a, b, dn) * 2, a, b)
        (product,) = [s for s in exe.steps if s.eqn.prim is lax_dot.dot_general_p]
        assert product.take == lax_dot.accepts_out(
            ShapedArray(ls, np.dtype(dtype)), ShapedArray(rs, np.dtype(dtype)), dn, None)
        check_compiled(lambda a, b: lax.dot_general(a, b, dn, preferred_element_type=jnp.float32),
                       a, b)


def test_dot_general_kernel_writes_into_out():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 5, 7)).astype(np.float32)
    b = rng.standard_normal((3, 7, 2)).astype(np.float32)
    params = dict(dimension_numbers=(((2,), (1,)), ((0,), (0,))), precision=None,
                  preferred_element_type=None)
    want = lax_dot.dot_general_p.impl(a, b, **params)[0]
    out = np.empty((3, 5, 2), np.float32)
    (got,) = lax_dot.dot_general_p.impl(a, b, out=out, **params)
    assert got is out and bits(out) == bits(want) and want.flags.c_contiguous


# ---------------------------------------------------------------------------- buffer pool

def test_pool_takes_back_only_buffers_nothing_else_refers_to():
    pool = pool_module.BufferPool()
    n = POLICY.pool_min_bytes // 4

    def give_fresh():  # as generated code does: give, then delete the only name
        v = np.empty(n, np.float32)
        pool.give(v)
        del v
    give_fresh()
    assert pool.nbytes == 4 * n
    assert pool.take((n,), np.dtype(np.float32)).shape == (n,) and pool.nbytes == 0

    def give_with_view():
        v = np.empty(n, np.float32)
        view = v[1:]
        pool.give(v)
        return view
    give_with_view()
    assert not pool.free.get((n,), [])

    def give_twice_named():
        v = np.empty(n, np.float32)
        w = v  # noqa: F841 - a second name
        pool.give(v)
    give_twice_named()
    assert not pool.free.get((n,), [])

    def give_small_and_views():
        v = np.empty(4, np.float32)
        pool.give(v)
        pool.give(np.empty((n, 2), np.float32)[:, 0])
    give_small_and_views()
    assert pool.nbytes == 0 and not any(pool.free.values())


def test_pool_holds_at_most_its_cap(monkeypatch):
    monkeypatch.setattr(POLICY, "pool_max_bytes", 3 * POLICY.pool_min_bytes)
    pool = pool_module.BufferPool()
    for _ in range(5):
        pool.keep(np.empty(POLICY.pool_min_bytes, np.uint8))
    assert pool.nbytes == 3 * POLICY.pool_min_bytes
    assert pool.take((POLICY.pool_min_bytes,), np.dtype(np.uint8)).nbytes == \
        POLICY.pool_min_bytes and pool.nbytes == 2 * POLICY.pool_min_bytes


def test_pool_makes_room_by_dropping_the_least_recently_used_types(monkeypatch):
    unit = POLICY.pool_min_bytes
    monkeypatch.setattr(POLICY, "pool_max_bytes", 3 * unit)
    pool = pool_module.BufferPool()
    a, b, c = ((unit,), np.dtype(np.uint8)), ((unit // 4,), np.dtype(np.float32)), \
        ((2 * unit,), np.dtype(np.uint8))
    pool.keep(np.empty(*a))
    pool.keep(np.empty(*b))
    pool.keep(np.empty(*b))
    assert pool.take(*a).nbytes == unit  # (a is now the most recently used type)
    pool.keep(np.empty(*a))
    pool.keep(np.empty(*c))  # (b, the least recently used, makes room)
    assert pool.nbytes == 3 * unit and not pool.free.get(b)
    assert pool.take(*c).shape == c[0] and pool.nbytes == unit
    pool.keep(np.empty(4 * unit, np.uint8))  # (larger than the cap: not kept, no room made)
    assert pool.nbytes == unit and pool.take(*a).shape == a[0]


def test_results_views_and_inputs_stay_out_of_the_pool(monkeypatch):
    """Large intermediates returned as views, kernels returning an input itself, and
    inputs returned as outputs: no later call may write into what a caller holds."""
    monkeypatch.setattr(POLICY, "pool_min_bytes", 1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 40)).astype(np.float32)

    def f(x):
        a = jnp.exp(x) + 1.0
        b = a.T                      # a view of a pooled-size intermediate, returned
        c = lax.convert_element_type(x, jnp.float32)  # the input itself
        d = (c * 2.0).reshape(40, 50)
        return b, d, c, x
    exe = check_compiled(f, x)
    first = [np.array(o) for o in exe(x)]
    held = exe(x)
    for _ in range(3):
        exe(x * 3)
    assert [bits(h) for h in held] == [bits(h) for h in first]


# ---------------------------------------------------------------------------- nn.relu

def test_relu_matches_jax():
    x = np.array([-2.0, -0.0, 0.0, 1e-30, 3.5, np.inf, -np.inf], np.float32)
    xi = np.array([-3, 0, 4], np.int32)
    check_against_jax(pyjax.nn.relu, jax.nn.relu, x)
    check_against_jax(pyjax.nn.relu, jax.nn.relu, xi)
    assert_same(pyjax.nn.relu(2.5), jax.nn.relu(2.5))
    g = lambda lib: lib.vmap(lib.grad(lib.nn.relu))  # noqa: E731
    assert_same(g(pyjax)(x), g(jax)(x))  # 0 at 0, as JAX's custom JVP
    assert_same(pyjax.jit(g(pyjax))(x), g(jax)(x))
    assert_same(pyjax.jvp(pyjax.nn.relu, (x,), (x * 2,)),
                jax.jvp(jax.nn.relu, (x,), (x * 2,)))
    assert "custom_jvp_call" in str(pyjax.make_jaxpr(pyjax.nn.relu)(1.0))


# ---------------------------------------------------------------------------- transposed products

def test_weight_gradients_are_made_in_the_layout_they_are_read_in(monkeypatch):
    """``w - lr * grad(w)``: reverse mode makes the weight's gradient as a transposed
    product; it is computed as the swapped product instead (``passes.transposed_products``)
    and the update reads it in order; the bits are those of the rewritten program, and
    close to JAX's. A product also read as it is keeps its transpose."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 12)
    monkeypatch.setattr(POLICY, "block_bytes", 1 << 12)
    rng = np.random.default_rng(5)
    w = rng.standard_normal((256, 96)).astype(np.float32)
    x = rng.standard_normal((32, 256)).astype(np.float32)
    g = rng.standard_normal((32, 96)).astype(np.float32)
    update = {lib: (lambda w, x, g, lib=lib: w - 0.01 * lib.grad(
        lambda w, x, g: lib.numpy.sum((x @ w) * g))(w, x, g)) for lib in (pyjax, jax)}
    exe = check_compiled(update[pyjax], w, x, g)
    assert "transpose" not in _prims(exe) and any(s.kind == "group" for s in exe.steps)
    assert_same(exe(w, x, g)[0], jax.jit(update[jax])(w, x, g))

    def both(w, x, g):
        p = g.T @ x
        return w - 0.01 * p.T, p[0]
    assert "transpose" in _prims(check_compiled(both, w, x, g))


def test_strided_operands_run_blocked_only_when_safe(monkeypatch):
    """Blocked kernels take a transposed operand only for exact groups whose outputs NumPy
    would lay out in C order; otherwise they run the group whole, as before."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 10)
    monkeypatch.setattr(POLICY, "block_bytes", 1 << 10)
    rng = np.random.default_rng(6)
    a = np.asfortranarray(rng.standard_normal((64, 48)).astype(np.float32))
    b = rng.standard_normal((64, 48)).astype(np.float32)
    safe = lambda a, b: b - a * 2.0  # noqa: E731  (a C operand: a C result)
    for fn in (safe, lambda a, b: (a * 2.0 - 1.0, b + a),  # an F result: run whole
               lambda a, b: jnp.exp(a) + b):               # inexact: run whole
        exe = check_compiled(fn, a, b)
        outs = exe(a, b)
        assert [np.asarray(o).flags.c_contiguous for o in outs] == \
            [np.asarray(o).flags.c_contiguous for o in reference(pyjax.make_jaxpr(fn)(a, b),
                                                                   (a, b))]
        ran_whole = []
        for k in [s.call for s in exe.steps if s.kind == "group"]:
            k.whole = (lambda whole: lambda *x: ran_whole.append(1) or whole(*x))(k.whole)
        exe(a, b)
        assert bool(ran_whole) == (fn is not safe)


def test_blocked_groups_with_one_element_operands(monkeypatch):
    """A 0-d value broadcast inside a blocked group, and a (1, 1) operand, stretch over
    each block (they once made blocks of the wrong rank)."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 10)
    monkeypatch.setattr(POLICY, "block_bytes", 1 << 10)
    x = np.linspace(-2, 2, 64 * 300).reshape(64, 300).astype(np.float32)
    s, y = np.float32(0.5), np.full((1, 1), 3, np.float32)
    exe = check_compiled(lambda s, x: jnp.exp(lax.broadcast_in_dim(s, x.shape, ())) + x, s, x)
    assert any(s.kind == "group" and s.call.blocked for s in exe.steps)
    check_compiled(lambda y, x: (jnp.exp(y) + x - jnp.sin(y), x * 2), y, x)
    check_compiled(lambda s, x: (lax.broadcast_in_dim(s, x.shape, ()), x * 2), s, x)


# ---------------------------------------------------------------------------- overlapped products

def test_independent_products_overlap_and_keep_their_bits(monkeypatch):
    """A layer's weight and input gradients are independent products: one runs on the
    worker thread while the caller computes the other; bits and results are unchanged,
    also with the program running on two threads at once. Only under a single-threaded
    BLAS (a threaded one keeps the cores busy itself)."""
    monkeypatch.setattr(POLICY, "spawn_min_macs", 1 << 16)
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(blas_module, "num_threads", lambda: 2)
    rng = np.random.default_rng(8)
    w1, w2, x = (rng.standard_normal((96, 96)).astype(np.float32) / 10 for _ in range(3))
    step = lambda w1, w2, x: pyjax.grad(  # noqa: E731
        lambda w1, w2, x: jnp.sum(jnp.tanh(jnp.tanh(x @ w1) @ w2) ** 2), (0, 1, 2))(w1, w2, x)
    assert not any(s.spawned for s in check_compiled(step, w1, w2, x).steps)
    monkeypatch.setattr(blas_module, "num_threads", lambda: 1)
    rng = np.random.default_rng(8)
    w1 = rng.standard_normal((96, 96)).astype(np.float32) / 10
    w2 = rng.standard_normal((96, 96)).astype(np.float32) / 10
    x = rng.standard_normal((96, 96)).astype(np.float32)

    def loss(w1, w2, x):
        return jnp.sum(jnp.tanh(jnp.tanh(x @ w1) @ w2) ** 2)
    step = lambda w1, w2, x: pyjax.grad(loss, (0, 1, 2))(w1, w2, x)  # noqa: E731
    exe = check_compiled(step, w1, w2, x)
    assert any(s.spawned for s in exe.steps)
    want = [bits(o) for o in exe(w1, w2, x)]
    got = []

    def run():
        for _ in range(5):
            got.append([bits(o) for o in exe(w1, w2, x)])
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 10 and all(g == want for g in got)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_split_among_the_threads_are_not_spawned(monkeypatch, dtype):
    """A product its kernel splits among the threads (declared ``threaded``) runs alone:
    spawned beside another it would compete with it for the cores. A float64 product
    (run whole) still overlaps."""
    monkeypatch.setattr(POLICY, "spawn_min_macs", 1 << 16)
    monkeypatch.setattr(POLICY, "split_min_macs", 1 << 16)
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(blas_module, "num_threads", lambda: 1)
    rng = np.random.default_rng(9)
    w1, w2, x = (rng.standard_normal((128, 128)).astype(dtype) / 10 for _ in range(3))
    step = lambda w1, w2, x: pyjax.grad(  # noqa: E731
        lambda w1, w2, x: jnp.sum(jnp.tanh(jnp.tanh(x @ w1) @ w2) ** 2), (0, 1, 2))(w1, w2, x)
    with x64_mode(dtype == np.float64):
        exe = check_compiled(step, w1, w2, x)
    products = [s for s in exe.steps if s.eqn.prim is lax_dot.dot_general_p]
    assert products and all(s.eqn.prim.threaded(s.eqn) == (dtype == np.float32)
                            for s in products)
    assert any(s.spawned for s in products) == (dtype == np.float64)


def test_join_runs_a_spawned_task_itself_while_the_worker_is_busy():
    gate = threading.Event()
    busy = threads.thread_pool().submit(gate.wait, 5)
    try:
        task = threads.spawn(np.multiply, np.float32(1e30), np.float32(1e30))
        with np.errstate(over="raise"), pytest.warns(RuntimeWarning):  # (as at spawn)
            assert threads.join(task) == np.inf
        with np.errstate(over="raise"):
            task = threads.spawn(np.multiply, np.float32(1e30), np.float32(1e30))
        with pytest.raises(FloatingPointError):
            threads.join(task)
    finally:
        gate.set()
        busy.result()
    assert threads.join(threads.spawn(np.add, 1, 2)) == 3


# ---------------------------------------------------------------------------- split products

SPLIT_PRODUCTS = [  # (m, k, n, lhs transposed, rhs transposed, dtype)
    (128, 784, 512, False, False, np.float32), (784, 128, 512, True, False, np.float32),
    (128, 512, 512, False, True, np.float32), (1000, 301, 97, True, True, np.float32),
    (333, 1025, 77, False, False, np.complex64), (256, 300, 300, False, False, np.float64)]


def _assert_bits(x, y):
    assert x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()


@pytest.mark.parametrize("m,k,n,ta,tb,dtype", SPLIT_PRODUCTS)
def test_split_products_give_their_blocks_bits(monkeypatch, m, k, n, ta, tb, dtype):
    """``blas.matmul`` splits a large float32 or complex64 product into blocks of rows or
    columns (a batch into runs of items) among the threads: each block gets the bits of
    NumPy's call on it (on one BLAS thread, pyjax's setting), whichever thread runs it
    (the caller runs every block while the worker is busy elsewhere), close to the whole
    product's; a batch's items get exactly the whole batch's bits; float64 products run
    whole."""
    assert blas_module.num_threads() in (None, 1)
    monkeypatch.setattr(POLICY, "split_min_macs", 1 << 14)
    monkeypatch.setattr(POLICY, "num_threads", 3)
    rng = np.random.default_rng(m)
    make = lambda shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    a = make((k, m)).T if ta else make((m, k))
    b = make((n, k)).T if tb else make((k, n))
    split = blas_module.blocks(a.shape, n, dtype)
    assert (split is None) == (dtype == np.float64)
    want = np.matmul(a, b)
    if split is not None:
        axis, bounds = split
        assert axis == (m < POLICY.split_columns_below_rows and n >= 128)
        assert len(bounds) >= 3 and all(x % 64 == 0 for x in bounds[1:-1])
        want = np.concatenate([np.matmul(a, b[:, lo:hi]) if axis else np.matmul(a[lo:hi], b)
                               for lo, hi in zip(bounds, bounds[1:])], axis=axis)
    np.testing.assert_allclose(want, np.matmul(a, b), rtol=1e-4, atol=1e-3)
    _assert_bits(blas_module.matmul(a, b), want)
    out = np.empty((m, n), dtype)
    assert blas_module.matmul(a, b, out=out) is out
    _assert_bits(out, want)
    batch_a, batch_b = np.stack([a, a[::-1]]), np.stack([b, b])
    assert blas_module.blocks(batch_a.shape, n, dtype) == (0, [0, 1, 2])
    _assert_bits(blas_module.matmul(batch_a, batch_b), np.matmul(batch_a, batch_b))
    gate = threading.Event()
    busy = threads.thread_pool().submit(gate.wait, 5)
    try:
        _assert_bits(blas_module.matmul(a, b), want)
    finally:
        gate.set()
        busy.result()


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_products_with_few_rows_split_their_columns(monkeypatch, dtype):
    """A matrix with few rows (a small batch's layer, 32x784x512) is split into blocks of
    ``b``'s columns at multiples of 64, each NumPy's call on them."""
    monkeypatch.setattr(POLICY, "split_min_macs", 1 << 14)
    monkeypatch.setattr(POLICY, "num_threads", 3)
    rng = np.random.default_rng(2)
    a = rng.standard_normal((32, 300)).astype(dtype)
    b = rng.standard_normal((300, 200)).astype(dtype)
    axis, bounds = blas_module.blocks(a.shape, 200, dtype)
    assert axis == 1 and bounds == [0, 128, 200]
    for rhs in (b, np.asfortranarray(b)):
        want = np.concatenate([np.matmul(a, rhs[:, lo:hi])
                               for lo, hi in zip(bounds, bounds[1:])], axis=1)
        np.testing.assert_allclose(want, np.matmul(a, b), rtol=1e-4, atol=1e-3)
        _assert_bits(blas_module.matmul(a, rhs), want)


def test_matrix_vector_products_split_their_rows_by_bytes(monkeypatch):
    """A matrix times a vector reads its matrix once: it is split into blocks of rows of
    ``POLICY.split_min_bytes`` or more, each NumPy's ``gemv`` on them (which are the
    whole product's bits for a C-ordered matrix)."""
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(POLICY, "split_min_bytes", 1 << 20)
    assert blas_module.blocks((1024, 512), 1, np.float32) == (0, [0, 512, 1024])
    assert blas_module.blocks((1024, 255), 1, np.float32) is None  # (under 2 MiB)
    assert blas_module.blocks((1024, 512), 1, np.float64) is None
    rng = np.random.default_rng(3)
    a = rng.standard_normal((1024, 512)).astype(np.float32)
    for x in (rng.standard_normal((512, 1)).astype(np.float32),
              rng.standard_normal((512, 2)).astype(np.float32)[:, :1]):
        _assert_bits(blas_module.matmul(a, x), np.matmul(a, x))


def test_split_products_leave_x_times_x_transposed_whole(monkeypatch):
    """NumPy computes ``x @ x.T`` with ``syrk`` (another rounding than a block of rows),
    so such a product is not split."""
    monkeypatch.setattr(POLICY, "split_min_macs", 1 << 10)
    monkeypatch.setattr(POLICY, "num_threads", 2)
    x = np.random.default_rng(1).standard_normal((256, 200)).astype(np.float32)
    _assert_bits(blas_module.matmul(x, x.T), np.matmul(x, x.T))
    assert blas_module._split(x, x.T) is None


def _planned_product(lhs, rhs, dn, out=None):
    """``dot_general``'s kernel through its general ``impl_plan`` route (what the plain
    products' fast path must reproduce bit for bit, ``out`` buffers included)."""
    (pa, sa), (pb, sb), op, work, out_dtype, out_shape, into = lax_dot.impl_plan(
        lhs.shape, rhs.shape, lhs.dtype, rhs.dtype, dn, None)
    a, b = lhs.transpose(pa).reshape(sa), rhs.transpose(pb).reshape(sb)
    if out is not None:
        op(a, b, out=out if out.shape == into else out.reshape(into))
        return out
    return op(a, b).reshape(out_shape)


PLAIN_PRODUCTS = [  # (lhs shape, rhs shape, rhs contracting dim)
    ((7,), (7, 5), 0), ((4, 7), (7, 5), 0), ((4, 7), (7,), 0), ((7,), (7,), 0),
    ((4, 7), (5, 7), 1), ((7,), (5, 7), 1), ((1, 7), (7, 1), 0), ((64,), (64, 64), 0),
    ((3, 0), (0, 2), 0), ((33,), (33, 130), 0), ((100,), (257, 100), 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.complex64, np.bool_])
@pytest.mark.parametrize("lshape,rshape,rc", PLAIN_PRODUCTS)
def test_plain_products_take_the_planned_kernels_bits(lshape, rshape, rc, dtype):
    rng = np.random.default_rng(0)
    mk = lambda s: (rng.standard_normal(s) * 3).astype(dtype)  # noqa: E731
    lhs, rhs = mk(lshape), mk(rshape)
    dn = (((len(lshape) - 1,), (rc,)), ((), ()))
    variants = [(lhs, rhs)]
    if len(rshape) == 2:  # strided and Fortran-ordered operands
        variants += [(lhs, np.asfortranarray(rhs)), (lhs, np.ascontiguousarray(rhs.T).T)]
    if len(lshape) == 2:
        variants.append((np.asfortranarray(lhs), rhs))
    big = mk((2 * lshape[-1] + 1,))
    if len(lshape) == 1:
        variants.append((big[::2][:lshape[0]], rhs))
    for (lv, rv), pet in zip(variants, [None, np.dtype(dtype)] * 3):
        got = lax_dot.dot_general_p.impl(lv, rv, dn, None, pet)[0]
        want = _planned_product(lv, rv, dn)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert got.tobytes() == want.tobytes()
        # compiled code passes ``out`` buffers: of the result's shape, or a wider one
        out = np.empty(want.shape, dtype)
        assert lax_dot.dot_general_p.impl(lv, rv, dn, None, pet, out=out)[0] is out
        assert out.tobytes() == want.tobytes()


def test_plain_products_against_jax():
    def products(np_):
        return lambda v, m, w: (v @ m, m.T @ v, m @ w.T, v @ v, np_.dot(w, m.T))
    rng = np.random.default_rng(1)
    args = (rng.standard_normal(6).astype(np.float32),
            rng.standard_normal((6, 5)).astype(np.float32),
            rng.standard_normal((3, 5)).astype(np.float32))
    check_against_jax(products(jnp), products(jax.numpy), *args)


def test_mixed_dtype_and_preferred_products_keep_the_general_path():
    a, b = np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((3, 2), np.float32)
    dn = (((1,), (0,)), ((), ()))
    got = lax_dot.dot_general_p.impl(a, b, dn, None, None)[0]
    assert got.dtype == np.float32 and got.tolist() == [[3.0, 3.0], [12.0, 12.0]]
    got = lax_dot.dot_general_p.impl(a, a.T.copy(), dn, None, np.dtype(np.float32))[0]
    assert got.dtype == np.float32
