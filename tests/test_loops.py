"""Scans run as generated loops (``compiler/loops.py``) give, bit for bit, what running
the body's executable once per step gives, with and without stacking; and the float32
``tanh`` kernel gives XLA's bits on every kind of input, at every size."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax._src.compiler import compile_jaxpr, loops
from pyjax._src.backends.cpu import approximations as approx
from pyjax._src.lax import control_flow, elementwise
from pyjax._src.transforms.jit import executable_for

from harness import assert_same

rng = np.random.default_rng(7)
W = (rng.standard_normal((6, 6)) / 3).astype(np.float32)
V = (rng.standard_normal((6, 6)) / 3).astype(np.float32)
B = rng.standard_normal(6).astype(np.float32)
H0 = rng.standard_normal(6).astype(np.float32)
XS = rng.standard_normal((9, 6)).astype(np.float32)
S = rng.standard_normal(9).astype(np.float32)


def _rnn(L, N):
    return lambda w, v, b, h0, xs: L.scan(lambda h, x: (N.tanh(h @ w + x @ v + b),) * 2, h0,
                                          xs)


def _nested(L, N):
    def inner(c, x):
        return L.scan(lambda d, y: (d * 0.5 + y, d), c, N.stack([x, -x]))
    return lambda h0, xs: L.scan(inner, h0, xs)


# name -> (program(lax, numpy), arguments); each program's scans are checked step by step
PROGRAMS = {
    "rnn": (_rnn, (W, V, B, H0, XS)),
    "rnn reverse": (lambda L, N: lambda w, h0, xs: L.scan(
        lambda h, x: (N.tanh(h @ w + x),) * 2, h0, xs, reverse=True), (W, H0, XS)),
    "matrix @ step": (lambda L, N: lambda w, h0, xs: L.scan(
        lambda h, x: (N.sin(w @ h) + w @ x, x @ w.T), h0, xs), (W, H0, XS)),
    "matrix steps": (lambda L, N: lambda w, h0, xs: L.scan(
        lambda h, x: (h + (x @ w).sum(0), (w @ x.T, x @ w.T, N.einsum("ij,ij->j", x, x))),
        h0, xs), (W, H0, XS.reshape(3, 3, 6))),
    "both operands stepped": (lambda L, N: lambda h0, xs: L.scan(
        lambda h, x: (h + N.dot(x, x) * x, N.outer(x, x[:2])), h0, xs), (H0, XS)),
    "scalar steps": (lambda L, N: lambda h0, s: L.scan(
        lambda h, x: (h * x + N.exp(x), (N.where(x > 0, h, -h), x * 2.0, x)), h0, s),
        (H0, S)),
    "scalar selects": (lambda L, N: lambda s: L.scan(
        lambda c, x: (c + N.where(x > 0, x, 0.5), (L.clamp(-0.5, x, c), L.clamp(x, 0.25, 1.0),
                                                   N.where(x > c, 2.0, x))), 0.0, s), (S,)),
    "every kind of y": (lambda L, N: lambda h0, xs, s: L.scan(
        lambda h, x: (h + x[0], (x[0], h, 1.0, B, x[0] * 2, x[0] * 2, x[1] + 1.0)), h0,
        (xs, s)), (H0, XS, S)),
    "swapped carries": (lambda L, N: lambda a, b, xs: L.scan(
        lambda c, x: ((c[1], c[0] * x), c[0] + c[1]), (a, b), xs), (H0, B, XS)),
    "carry from the steps alone": (lambda L, N: lambda h0, xs: L.scan(
        lambda h, x: (x * 3.0, h), h0, xs), (H0, XS)),
    "integer carry": (lambda L, N: lambda xs: L.scan(
        lambda c, x: ((c[0] + 1, c[1] + x * c[0].astype(N.float32)), c[0] * 2), (0, 0.0),
        xs), (S,)),
    "no xs": (lambda L, N: lambda h0: L.scan(lambda h, _: (h * 1.5 - 1.0, h.sum()), h0, None,
                                             length=4), (H0,)),
    "length 0": (lambda L, N: lambda h0, xs: L.scan(lambda h, x: (h + x, h * x), h0, xs),
                 (H0, XS[:0])),
    "length 1": (_rnn, (W, V, B, H0, XS[:1])),
    "nested": (_nested, (H0, XS)),
    "fori": (lambda L, N: lambda h0: L.fori_loop(0, 5, lambda i, h: N.tanh(h * i + W[0]), h0),
             (H0,)),
    "large steps": (lambda L, N: lambda h0, xs: L.scan(
        lambda h, x: (N.tanh(h * 0.5 + x),) * 2, h0, xs),
        (np.linspace(-3, 3, 1 << 18, dtype=np.float32),
         rng.standard_normal((2, 1 << 18)).astype(np.float32))),
}


def _step_by_step(*args, jaxpr, length, reverse, num_consts, num_carry, **params):
    """The reference: the body's executable called once per step."""
    consts = list(args[:num_consts])
    carry = list(args[num_consts:num_consts + num_carry])
    xs = args[num_consts + num_carry:]
    exe = executable_for(jaxpr)
    ys = [np.empty((length,) + a.shape, a.dtype) for a in jaxpr.out_avals[num_carry:]]
    for t in (range(length - 1, -1, -1) if reverse else range(length)):
        outs = exe.run_buffers(consts + carry + [x[t] for x in xs])
        carry = outs[:num_carry]
        for y, o in zip(ys, outs[num_carry:]):
            y[t] = o
    return [np.asarray(c) for c in carry] + ys


def _bits(tree):
    leaves = pyjax.tree_util.tree_leaves(tree)
    return [(np.asarray(x).dtype, np.asarray(x).shape, np.asarray(x).tobytes())
            for x in leaves]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_loops_give_the_bits_of_stepping_the_body(name, monkeypatch):
    make, args = PROGRAMS[name]
    monkeypatch.setattr(control_flow.scan_p, "impl", _step_by_step)
    monkeypatch.setattr(control_flow.scan_p, "lowering", None)
    want = _bits(pyjax.jit(make(lax, jnp))(*args))
    monkeypatch.undo()
    for stacking in (True, False):
        monkeypatch.setattr(loops, "STACKING", stacking)
        assert _bits(pyjax.jit(make(lax, jnp))(*args)) == want, (name, stacking)
    assert _bits(make(lax, jnp)(*args)) == want  # eager: the primitive's kernel is the loop


@pytest.mark.parametrize("name", ["rnn", "every kind of y", "integer carry", "nested",
                                  "length 0", "scalar steps"])
def test_loops_match_jax(name):
    make, args = PROGRAMS[name]
    assert_same(pyjax.jit(make(lax, jnp))(*args), jax.jit(make(jax.lax, jnp_ref))(*args),
                what=name)


def test_the_rnn_loop_computes_only_the_carry_part_per_step():
    """``x @ v`` runs once for all steps before the loop; ``w.T`` is hoisted; the loop
    body is the carry's product, two adds and the tanh."""
    f = lambda w, v, b, h0, xs: lax.scan(  # noqa: E731
        lambda h, x: (jnp.tanh(h @ w.T + x @ v + b),) * 2, h0, xs)
    exe = compile_jaxpr(pyjax.make_jaxpr(f)(W, V, B, H0, XS))
    (plan,) = [s.call.plan for s in exe.steps if s.eqn.prim is control_flow.scan_p]
    assert plan["hoisted"] == ["transpose"] and plan["stacked"] == ["dot_general"]
    assert sorted(plan["per step"]) == ["add", "add", "dot_general", "tanh"]


# ---------------------------------------------------------------------------- tanh

def _sweep() -> np.ndarray:
    """Every exponent (random bit patterns, NaNs with payloads), dense runs around the
    clamp, the tiny threshold and 1, subnormals, and the specials."""
    r = np.random.default_rng(0)
    f32 = np.float32

    def around(v, n):
        bits = np.array(v, f32).view(np.int32) + np.arange(-n, n, dtype=np.int32)
        return bits.view(f32)
    parts = [
        r.integers(0, 2**32, 1 << 21, dtype=np.uint64).astype(np.uint32).view(f32),
        r.uniform(-9, 9, 1 << 21).astype(f32),
        (r.standard_normal(1 << 19) * 1e-3).astype(f32),
        around(approx.TANH_CLAMP, 1 << 12), around(-approx.TANH_CLAMP, 1 << 12),
        around(0.0004, 1 << 12), around(-0.0004, 1 << 12), around(1.0, 1 << 12),
        around(20.0, 64), np.arange(0, 1 << 12, dtype=np.int32).view(f32),
        np.array([0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45,
                  np.finfo(f32).max, np.finfo(f32).tiny], f32),
    ]
    return np.concatenate(parts)


def _same_bits(ours, theirs):
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.dtype == b.dtype and a.shape == b.shape
    bits = f"u{a.dtype.itemsize}"
    bad = np.flatnonzero(a.view(bits) != b.view(bits))
    assert bad.size == 0, f"{bad.size} mismatches, e.g. {a.flat[bad[:5]]} vs {b.flat[bad[:5]]}"


def test_tanh_float32_gives_xlas_bits_at_every_size():
    x = _sweep()
    want = np.asarray(jax.jit(jnp_ref.tanh)(x))
    _same_bits(lax.tanh(x), want)                   # one call, blocked inside the kernel
    _same_bits(pyjax.jit(jnp.tanh)(x), want)        # fused: the kernel on blocks, threaded
    start = 0
    for n in [1, 2, 3, 63, 64, 65, 1000, 1023, 1024, 1025, 5000, 16384, 16385, 17407,
              17408, 40000] * 3:
        _same_bits(elementwise.tanh_p.impl(x[start:start + n])[0], want[start:start + n])
        start += n
    y = x[:4096].reshape(16, 256)
    _same_bits(elementwise.tanh_p.impl(y.T)[0], want[:4096].reshape(16, 256).T)  # strided
    _same_bits(elementwise.tanh_p.impl(x[7])[0], want[7])                        # 0-d


def test_tanh_float16_every_value():
    x = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    _same_bits(lax.tanh(x), np.asarray(jax.jit(jnp_ref.tanh)(x)))
